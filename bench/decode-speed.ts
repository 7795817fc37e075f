/**
 * Micro benchmark of the binary COPY decoder (not a test: nothing asserts a time).
 *
 *   node --import tsx bench/decode-speed.ts [--rows 2000000] [--repeat 3] [--unit us|ms] [--batch-rows 250000]
 *
 * For two tables it generates once (kept between runs, regenerated when the row count changes):
 * `decode_bench_narrow` (bigint, float8, 20-char text, timestamptz: ~70 bytes a row, like the
 * TECH-NOTES figure) and `decode_bench_mixed` (the columns of ../shared/bench/tables.sql's
 * bench_events), it measures, medians of `--repeat` runs:
 * - `copy-count`: COPY binary through the COPY-out stream, only counting bytes (the ceiling);
 * - `copy-decode`: the same stream fed to the decoder (what an extraction gets);
 * - `decode-only`: the decoder on the stream's chunks already in memory (the decoder's own cost).
 * DATABASE_URL is read from the environment, else from `scripts/stack.sh env`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CopyOutStream } from '../src/postgres/copy-out.js';
import { planColumns } from '../src/arrow/type-map.js';
import type { ColumnSpec } from '../src/arrow/column-spec.js';
import { CopyBinaryDecoder } from '../src/postgres/copy-decoder.js';
import { describeTable } from '../src/postgres/introspect.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    repeat: { type: 'string', default: '3' },
    unit: { type: 'string', default: 'us' },
    'batch-rows': { type: 'string', default: '250000' },
  },
});
const ROWS = Number(args.rows);
const REPEAT = Number(args.repeat);
const UNIT = args.unit === 'ms' ? 'ms' : 'us';
const BATCH_ROWS = Number(args['batch-rows']);

function databaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const script = fileURLToPath(new URL('../scripts/stack.sh', import.meta.url));
  const out = execFileSync('bash', [script, 'env'], { encoding: 'utf8' });
  const m = /DATABASE_URL='([^']*)'/.exec(out);
  if (!m?.[1]) throw new Error('no DATABASE_URL in the environment nor from scripts/stack.sh env');
  return m[1];
}

const TABLES: Record<string, { ddl: string; fill: string }> = {
  decode_bench_narrow: {
    ddl: `CREATE TABLE decode_bench_narrow (id bigint PRIMARY KEY, v double precision, s text, ts timestamptz)`,
    fill: `INSERT INTO decode_bench_narrow
           SELECT g, g::float8 / 7, substr(md5(g::text), 1, 20),
                  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
             FROM generate_series(1::bigint, $1::bigint) AS g`,
  },
  decode_bench_mixed: {
    ddl: `CREATE TABLE decode_bench_mixed (
            id bigint PRIMARY KEY, tenant_id integer NOT NULL, amount numeric(12,2), score double precision,
            name text, payload jsonb, created_at timestamptz NOT NULL, updated_at timestamp, active boolean,
            day date, uid uuid)`,
    fill: `INSERT INTO decode_bench_mixed
           SELECT g, (g % 1000)::int,
                  CASE WHEN g % 20 = 0 THEN NULL ELSE ((g * 7919) % 10000000)::numeric / 100 END,
                  ((g * 104729) % 1000003)::float8 / 997, 'customer-' || md5(g::text),
                  jsonb_build_object('k', g % 97, 'tag', 't' || (g % 13)),
                  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
                  CASE WHEN g % 10 = 0 THEN NULL ELSE timestamp '2024-01-01' + g * interval '1500 milliseconds' END,
                  g % 3 = 0, date '2024-01-01' + (g % 700)::int, md5(g::text)::uuid
             FROM generate_series(1::bigint, $1::bigint) AS g`,
  },
};

async function ensureTable(client: pg.Client, name: string): Promise<void> {
  const t = TABLES[name]!;
  const exists = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name]);
  let count = -1;
  if (exists.rows[0]?.ok) {
    const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
    count = Number(r.rows[0]?.n);
  }
  if (count === ROWS) return;
  process.stderr.write(`generating ${name} with ${ROWS} rows…\n`);
  await client.query(`DROP TABLE IF EXISTS ${name}`);
  await client.query(t.ddl);
  await client.query(t.fill, [ROWS]);
  await client.query(`ANALYZE ${name}`);
}

async function copyChunks(client: pg.Client, sql: string, onChunk: (c: Buffer) => void): Promise<number> {
  const stream = client.query(new CopyOutStream(sql));
  for await (const chunk of stream as AsyncIterable<Buffer>) onChunk(chunk);
  return stream.rowCount;
}

function newDecoder(specs: ColumnSpec[]): CopyBinaryDecoder {
  return new CopyBinaryDecoder(specs, {
    batchRows: BATCH_ROWS,
    batchBytes: 256 << 20,
    cursorColumn: 0,
    typeOptions: { timestampUnit: UNIT },
    table: 'bench',
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

const client = new pg.Client({ connectionString: databaseUrl() });
await client.connect();
await client.query("SET client_encoding = 'UTF8'");
const results: Record<string, unknown>[] = [];
try {
  for (const name of Object.keys(TABLES)) {
    await ensureTable(client, name);
    const specs = planColumns(await describeTable(client, 'public', name), { timestampUnit: UNIT });
    const sql = `COPY (SELECT ${specs.map((s) => s.selectExpr).join(', ')} FROM ${name} ORDER BY id) TO STDOUT (FORMAT binary)`;
    const timings: Record<string, number[]> = { 'copy-count': [], 'copy-decode': [], 'decode-only': [] };
    let bytes = 0;
    let chunks: Buffer[] = [];
    for (let r = 0; r < REPEAT; r++) {
      let t0 = performance.now();
      bytes = 0;
      const kept: Buffer[] = [];
      const rows = await copyChunks(client, sql, (c) => {
        bytes += c.length;
        kept.push(c);
      });
      timings['copy-count']!.push(performance.now() - t0);
      chunks = kept;
      if (rows !== ROWS) throw new Error(`COPY sent ${rows} rows, expected ${ROWS}`);

      t0 = performance.now();
      let dec = newDecoder(specs);
      let decodedRows = 0;
      await copyChunks(client, sql, (c) => {
        for (const b of dec.push(c)) decodedRows += b.rows;
      });
      decodedRows += dec.finish()?.rows ?? 0;
      timings['copy-decode']!.push(performance.now() - t0);
      if (decodedRows !== ROWS) throw new Error(`decoded ${decodedRows} rows, expected ${ROWS}`);

      t0 = performance.now();
      dec = newDecoder(specs);
      decodedRows = 0;
      for (const c of chunks) for (const b of dec.push(c)) decodedRows += b.rows;
      decodedRows += dec.finish()?.rows ?? 0;
      timings['decode-only']!.push(performance.now() - t0);
    }
    const sizes = chunks.map((c) => c.length);
    for (const [mode, ms] of Object.entries(timings)) {
      const seconds = median(ms) / 1000;
      const row = {
        table: name,
        mode,
        rows: ROWS,
        mb: +(bytes / 1e6).toFixed(1),
        seconds: +seconds.toFixed(3),
        rows_per_s: Math.round(ROWS / seconds),
        mb_per_s: +(bytes / 1e6 / seconds).toFixed(1),
      };
      results.push(row);
    }
    process.stderr.write(
      `${name}: ${chunks.length} chunks, ${Math.min(...sizes)}–${Math.max(...sizes)} bytes, ${(bytes / ROWS).toFixed(1)} bytes/row\n`,
    );
  }
} finally {
  await client.end();
}
console.table(results);
console.log(JSON.stringify({ unit: UNIT, batchRows: BATCH_ROWS, results }));
