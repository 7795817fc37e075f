/**
 * The output as other engines read it, in the exact forms the README's "Reading the output" gives:
 * DuckDB, Polars, pyarrow and Spark (PySpark on the machine's Java) read runs exported by the
 * real workflow to a local folder, each value compared with what PostgreSQL says.
 *
 * - one compacted run (raw batches kept under `_raw/`) and one run without compaction (its
 *   batches are the data files), a leftover temporary file of the file store in the latter;
 * - the newest run found through `_latest.json`, read only once its `_SUCCESS` is there; the
 *   table folder read with Hive partitioning on `run` (and Spark's basePath);
 * - `transform.timeAs` "time" and "micros" runs read by each engine (Spark refuses TIME);
 * - `transform.uuidAs: "uuid"` and `jsonAs: "json"` runs: the type each engine shows for the
 *   Parquet UUID and JSON logical types, and their values (Spark 3.5 refuses UUID);
 * - `retention.keepRuns` leaving only the newest run.
 *
 * The Python readers come from `scripts/bench-python.sh readers` (a cached venv, installed on
 * first use). Spark is skipped, with the reason shown, only where no `java` runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type pg from 'pg';
import type { LatestRun } from '../../src/run/documents.js';
import type { ExportTableInput, ExportTableResult } from '../../workflows/export-table.js';
import { database, stack } from '../support/fixtures.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';

const TABLE = 'public.it_readers';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN_A = '20261101T000000Z';
const RUN_B = '20261102T000000Z';

const CREATE = `
DROP TABLE IF EXISTS it_readers;
CREATE TABLE it_readers (
  id bigint PRIMARY KEY, i2 smallint, i4 integer, n numeric(12,3), t text, tstz timestamptz,
  d date, tm time, b boolean, u uuid, j jsonb
);
INSERT INTO it_readers
SELECT g, (g % 30000)::int2, g * 7919, round(g * 1.2345, 3), 'text ' || g,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute 0.000007 s',
       date '1999-12-25' + g, time '00:00:00' + g * interval '17.000123 s', g % 3 = 0,
       md5(g::text)::uuid, jsonb_build_object('g', g, 's', 'ü ' || g, 'a', jsonb_build_array(g, null))
FROM generate_series(1, 3000) g;
UPDATE it_readers SET i2 = NULL, t = NULL WHERE id % 11 = 0;
UPDATE it_readers SET i4 = NULL, n = NULL, b = NULL WHERE id % 13 = 0;
UPDATE it_readers SET tstz = NULL, d = NULL, tm = NULL WHERE id % 17 = 0;
UPDATE it_readers SET u = NULL, j = NULL WHERE id % 19 = 0;
INSERT INTO it_readers VALUES
 (-3, -32768, -2147483648, -999999999.999, '', '1969-12-31 23:59:59.999999+00', '1500-03-01',
  '00:00:00', false, '00000000-0000-0000-0000-000000000000', '[]'),
 (-2, 32767, 2147483647, 999999999.999, 'ünïcödé 😀 tab	"quote''', '2999-12-31 23:59:59.999999+00',
  '9999-12-31', '23:59:59.999999', true, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '"😀"'),
 (-1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
ANALYZE it_readers;`;

/** The table's columns as text, normalised as test/support/read-runs.py does. */
const EXPECTED = `
SELECT id::text, i2::text, i4::text, n::text, t,
       (extract(epoch FROM tstz) * 1000000)::numeric(30,0)::text AS tstz,
       d::text, tm::text, b::text, u::text, j::text,
       (extract(epoch FROM tm) * 1000000)::int8::text AS tm_us,
       '\\x' || replace(u::text, '-', '') AS u_bytes
  FROM it_readers ORDER BY it_readers.id`;

const COLUMNS = [
  'id',
  'i2',
  'i4',
  'n',
  't',
  'tstz',
  'd',
  'tm',
  'b',
  'u',
  'j',
  '_extracted_at',
  '_extraction_id',
];
/** The source columns every reader must give back as PostgreSQL prints them. */
const VALUE_COLUMNS = ['id', 'i2', 'i4', 'n', 't', 'tstz', 'd', 'tm', 'b', 'u', 'j'] as const;

interface Read {
  readonly columns?: string[];
  readonly rows?: (string | null)[][];
  /** Each column's type as the engine names it (the README's table of types per reader). */
  readonly types?: Record<string, string>;
  readonly error?: string;
  /** The error's message, for the assertion's diagnostics only. */
  readonly message?: string;
}
type Output = Record<string, Read> & {
  readonly latest: LatestRun;
  readonly latestSucceeded: boolean;
} & Record<`${string}:counts`, Record<string, number>>;

/** Whether Spark can run here: it needs a Java runtime (Spark 3.5 runs on Java 8, 11 and 17). */
function javaMissing(): string | undefined {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'no java on PATH: PySpark cannot start its JVM';
}

describe('the output read by DuckDB, Polars, pyarrow and Spark', () => {
  let db: pg.Client;
  let harness: TemporalHarness;
  let dest: string;
  let typeDest: string;
  let python: string;
  let out: Output;
  let expected: Record<string, string | null>[];
  const noSpark = javaMissing();
  const results: Record<string, ExportTableResult> = {};

  const exportRun = (destination: string, runKey: string, extra: Partial<ExportTableInput>) =>
    harness.client.workflow.execute<(i: ExportTableInput) => Promise<ExportTableResult>>('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId: `it-readers-${path.basename(destination)}-${runKey}-${Date.now()}`,
      args: [
        {
          source: { table: TABLE, cursor: 'id' },
          destination: pathToFileURL(destination).href,
          runKey,
          partitions: { count: 2, maxConcurrent: 2 },
          ...extra,
        },
      ],
    });

  before(async () => {
    stack();
    db = await database();
    await db.query(CREATE);
    await db.query('SET DateStyle = ISO');
    expected = (await db.query<Record<string, string | null>>(EXPECTED)).rows;
    // Installs the readers on first use (~1 min), cached afterwards.
    python = execFileSync('bash', [path.join(ROOT, 'scripts/bench-python.sh'), 'readers'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 20 * 60_000,
    }).trim();
    dest = await mkdtemp(path.join(tmpdir(), 'pgpq-readers-'));
    typeDest = await mkdtemp(path.join(tmpdir(), 'pgpq-readers-types-'));
    harness = await startHarness();
    // Spark reads the table's runs: their `time` column as text (Spark refuses Parquet TIME).
    results.a = await exportRun(dest, RUN_A, {
      transform: { timeAs: 'string' },
      batch: { rows: 400 },
      compaction: { targetFileBytes: 40_000, keepRaw: true },
      parquet: { rowGroupRows: 1000 },
    });
    results.b = await exportRun(dest, RUN_B, {
      transform: { timeAs: 'string' },
      batch: { rows: 700 },
      compaction: { enabled: false },
    });
    results.time = await exportRun(typeDest, 'time', { transform: { timeAs: 'time' } });
    results.micros = await exportRun(typeDest, 'micros', { transform: { timeAs: 'micros' } });
    // The logical-type options, each in a run of its own (Spark 3.5 refuses a file with a UUID column).
    results.uuid = await exportRun(typeDest, 'uuid', { transform: { timeAs: 'string', uuidAs: 'uuid' } });
    results.json = await exportRun(typeDest, 'json', { transform: { timeAs: 'string', jsonAs: 'json' } });
    // What a crash of the file store mid-write leaves beside the data files.
    const runB = path.join(dest, TABLE, `run=${RUN_B}`);
    await writeFile(path.join(runB, '.pgpq-tmp-0123456789ab-part-00000-000009.parquet.tmp'), 'PAR1 partial');

    const outFile = path.join(dest, 'readers-out.json');
    const spec = {
      dest,
      table: TABLE,
      hiveRun: RUN_A,
      typeDest,
      typeRuns: { time: 'time', micros: 'micros', uuid: 'uuid', json: 'json' },
      spark: noSpark === undefined,
      out: outFile,
    };
    execFileSync(python, [path.join(ROOT, 'test/support/read-runs.py')], {
      input: JSON.stringify(spec),
      stdio: ['pipe', 'inherit', 'pipe'],
      env: { ...process.env, TZ: 'UTC', PYSPARK_PYTHON: python },
      timeout: 10 * 60_000,
      maxBuffer: 64 << 20,
    });
    out = JSON.parse(await readFile(outFile, 'utf8')) as Output;
  });

  after(async () => {
    await harness?.close();
    await db?.end();
    for (const d of [dest, typeDest]) if (d) await rm(d, { recursive: true, force: true });
  });

  /** Asserts one reader's rows equal PostgreSQL's and carry `runKey` (the metadata columns too). */
  function assertRows(name: string, runKey: string, extraColumns: readonly string[] = []) {
    const read = out[name];
    assert.ok(read, `${name} was read`);
    assert.equal(read.error, undefined, `${name} failed: ${read.error}: ${read.message}`);
    assert.deepEqual(read.columns, [...COLUMNS, ...extraColumns], `${name}: columns`);
    const rows = read.rows!;
    assert.equal(rows.length, expected.length, `${name}: rows`);
    const at = (c: string) => read.columns!.indexOf(c);
    rows.forEach((row, i) => {
      const w = expected[i]!;
      const got = Object.fromEntries(VALUE_COLUMNS.map((c) => [c, row[at(c)]]));
      const want = Object.fromEntries(VALUE_COLUMNS.map((c) => [c, w[c]]));
      assert.deepEqual(got, want, `${name}: row id=${w.id}`);
      assert.equal(row[at('_extraction_id')], runKey, `${name}: _extraction_id`);
      for (const c of extraColumns) assert.equal(row[at(c)], runKey, `${name}: ${c}`);
    });
    const extractedAt = new Set(rows.map((r) => r[at('_extracted_at')]));
    assert.equal(extractedAt.size, 1, `${name}: one _extracted_at per run`);
  }

  test('the layout: data files alone in run folders, raw batches under _raw/, a temporary ends in .tmp', async () => {
    const a = (await readdir(path.join(dest, TABLE, `run=${RUN_A}`))).sort();
    assert.ok(results.a!.files > 1, 'several compacted data files');
    assert.deepEqual(
      a.filter((f) => !f.startsWith('_')),
      Array.from({ length: results.a!.files }, (_, n) => `part-${String(n).padStart(5, '0')}.parquet`),
    );
    assert.ok(a.includes('_raw') && a.includes('_SUCCESS') && a.includes('_manifest.json'));
    const b = (await readdir(path.join(dest, TABLE, `run=${RUN_B}`))).filter((f) => !f.startsWith('_'));
    assert.ok(
      b.every((f) => /^part-\d{5}-\d{6}\.parquet$/.test(f) || f.endsWith('.tmp')),
      b.join(' '),
    );
    assert.deepEqual((await readdir(path.join(dest, TABLE))).sort(), [
      '_latest.json',
      `run=${RUN_A}`,
      `run=${RUN_B}`,
    ]);
  });

  test('_latest.json names the newest run, whose _SUCCESS is there', () => {
    assert.equal(out.latest.runKey, RUN_B);
    assert.equal(out.latest.runPrefix, `${TABLE}/run=${RUN_B}/`);
    assert.equal(out.latest.totals.rows, expected.length);
    assert.equal(out.latestSucceeded, true);
  });

  for (const reader of ['duckdb:glob', 'polars:glob', 'pyarrow:folder', 'pyarrow:dataset', 'spark:folder']) {
    test(`${reader}: the latest run, every value equal to PostgreSQL`, (t) => {
      if (reader.startsWith('spark') && noSpark) return t.skip(noSpark);
      // DuckDB sees `run=` in the path and adds the Hive column by itself.
      assertRows(reader, RUN_B, reader === 'duckdb:glob' ? ['run'] : []);
    });
  }

  for (const reader of ['duckdb', 'polars', 'pyarrow', 'spark']) {
    test(`${reader}: the table folder with Hive partitioning on run, raw batches not read`, (t) => {
      if (reader === 'spark' && noSpark) return t.skip(noSpark);
      assertRows(`${reader}:hive`, RUN_A, ['run']);
      assert.deepEqual(out[`${reader}:hive:counts`], { [RUN_A]: expected.length, [RUN_B]: expected.length });
    });
  }

  test('spark: one run folder with basePath keeps the run column', (t) => {
    if (noSpark) return t.skip(noSpark);
    assertRows('spark:basePath', RUN_A, ['run']);
  });

  test('transform.timeAs: "time" read as a time by DuckDB, Polars and pyarrow (Spark 3.5 refuses it), "micros" as µs by all', (t) => {
    const micros = expected.map((w) => w.tm_us);
    for (const reader of ['duckdb', 'polars', 'pyarrow', 'spark']) {
      if (reader === 'spark' && noSpark) {
        t.diagnostic(`spark skipped: ${noSpark}`);
        continue;
      }
      for (const mode of ['time', 'micros']) {
        const read = out[`${reader}:${mode}`]!;
        if (reader === 'spark' && mode === 'time') {
          assert.ok(read.error, 'Spark 3.5 cannot read a Parquet TIME column');
          continue;
        }
        assert.equal(read.error, undefined, `${reader}:${mode} failed: ${read.error}: ${read.message}`);
        const tm = read.columns!.indexOf('tm');
        assert.deepEqual(
          read.rows!.map((r) => r[tm]),
          micros,
          `${reader}:${mode}`,
        );
      }
    }
  });

  test('transform.uuidAs "uuid" and jsonAs "json": the type each engine shows, every value equal to PostgreSQL', (t) => {
    // What each engine makes of the Parquet UUID and JSON logical types (the README's table).
    const shown: Record<string, { uuid: string | null; json: string }> = {
      duckdb: { uuid: 'UUID', json: 'JSON' },
      polars: { uuid: 'Binary', json: "Extension('arrow.json', String)" },
      pyarrow: { uuid: 'extension<arrow.uuid>', json: 'extension<arrow.json>' },
      spark: { uuid: null, json: 'string' }, // null: Spark 3.5 refuses the whole file
    };
    for (const reader of ['duckdb', 'polars', 'pyarrow', 'spark']) {
      if (reader === 'spark' && noSpark) {
        t.diagnostic(`spark skipped: ${noSpark}`);
        continue;
      }
      for (const mode of ['uuid', 'json'] as const) {
        const read = out[`${reader}:${mode}`]!;
        const column = mode === 'uuid' ? 'u' : 'j';
        const type = shown[reader]![mode];
        t.diagnostic(`${reader}:${mode} ${read.error ?? read.types?.[column]}`);
        if (type === null) {
          assert.ok(read.error, `${reader} cannot read a Parquet UUID column`);
          continue;
        }
        assert.equal(read.error, undefined, `${reader}:${mode} failed: ${read.error}: ${read.message}`);
        assert.equal(read.types?.[column], type, `${reader}:${mode}: the type it shows`);
        const at = (c: string) => read.columns!.indexOf(c);
        // A reader that shows the UUID's bytes gives PostgreSQL's 16 bytes; the others its text.
        const want = expected.map((w) => [w.u && type === 'Binary' ? w.u_bytes : w.u, w.j]);
        assert.deepEqual(
          read.rows!.map((r) => [r[at('u')], r[at('j')]]),
          want,
          `${reader}:${mode}: u and j equal PostgreSQL's`,
        );
      }
    }
  });

  test('retention.keepRuns: 1 leaves only the newest run of the table', async () => {
    const r = await exportRun(typeDest, 'zzz-last', { retention: { keepRuns: 1 } });
    assert.equal(r.rows, expected.length);
    assert.deepEqual(await readdir(path.join(typeDest, TABLE)), ['_latest.json', 'run=zzz-last']);
    const latest = JSON.parse(
      await readFile(path.join(typeDest, TABLE, '_latest.json'), 'utf8'),
    ) as LatestRun;
    assert.equal(latest.runKey, 'zzz-last');
  });
});
