/** Timestamp and date cursors: balanced plans on skewed time data, every row exported once. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { cursorLiteralSql, cursorValueSql, type CursorKind } from '../../src/postgres/cursor-kind.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { bucket, database, download, getObject, s3, stack, uniquePrefix } from '../support/fixtures.js';

let harness: TemporalHarness;
let db: pg.Client;

before(async () => {
  stack();
  db = await database();
  // 10% of the rows over the first 90 days, 90% in the last 10 days, with microseconds.
  await db.query(`DROP TABLE IF EXISTS it_ts; CREATE TABLE it_ts (id int PRIMARY KEY, at timestamptz UNIQUE, day date, v text);
    INSERT INTO it_ts SELECT g,
      CASE WHEN g <= 10000 THEN timestamptz '2024-01-01 00:00:00+00' + g * interval '777.000001 seconds'
           ELSE timestamptz '2024-03-31 00:00:00+00' + g * interval '9.000013 seconds' END,
      date '1999-12-25' + (g % 20) + CASE WHEN g > 10000 THEN 30 ELSE 0 END,
      'v' || g
    FROM generate_series(1, 100000) g;
    INSERT INTO it_ts VALUES (0, NULL, NULL, 'null cursor');
    ANALYZE it_ts;`);
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
  await db?.end();
});

async function exportBy(
  cursor: string,
  strategy: 'auto' | 'minmax',
): Promise<{ manifest: Manifest; paths: string[] }> {
  const prefix = uniquePrefix(`cursor-${cursor}`);
  const result = (await harness.client.workflow.execute('exportTable', {
    taskQueue: harness.taskQueue,
    workflowId: `it-cursor-${randomUUID()}`,
    args: [
      {
        source: { table: 'it_ts', cursor },
        destination: `s3://${bucket()}/${prefix}`,
        runKey: 'k',
        partitions: { count: 6, maxConcurrent: 3, strategy },
        batch: { rows: 7000 },
      },
    ],
  })) as ExportTableResult;
  const storage = s3();
  const manifest = JSON.parse(
    new TextDecoder().decode(await getObject(storage, `${prefix}/public.it_ts/run=k/_manifest.json`)),
  ) as Manifest;
  assert.equal(result.rows, 100_001);
  return {
    manifest,
    paths: await download(
      storage,
      manifest.files.map((f) => `${prefix}/${f.key}`),
    ),
  };
}

test('timestamptz cursor: balanced partitions, exact rows, every id once', async (t) => {
  const { manifest, paths } = await exportBy('at', 'auto');
  const rows = manifest.partitions.map((p) => p.sourceRows);
  // The first partition also holds the one NULL cursor.
  const ratio = Math.max(...rows) / Math.min(...rows.filter((n) => n > 0));
  t.diagnostic(`rows per partition ${rows.join(', ')}, ratio ${ratio.toFixed(3)}`);
  assert.ok(ratio <= 1.5, `ratio ${ratio}`);
  const [r] = await queryParquet(
    paths,
    'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, max(epoch_us("at"))::VARCHAR AS hi FROM read_parquet($files)',
  );
  const src = (
    await db.query<{ hi: string }>(
      'SELECT (extract(epoch FROM max(at)) * 1000000)::int8::text AS hi FROM it_ts',
    )
  ).rows[0]!;
  assert.equal(r!.n, '100001');
  assert.equal(r!.ids, '100001');
  assert.equal(r!.hi, src.hi);
  assert.equal(manifest.files.at(-1)!.cursorMax, src.hi, 'manifest cursor span in µs since 1970');
});

test('date cursor (not unique): every row once', async () => {
  const { manifest, paths } = await exportBy('day', 'auto');
  assert.equal(
    manifest.partitions.reduce((s, p) => s + p.sourceRows, 0),
    100_001,
  );
  const [r] = await queryParquet(
    paths,
    'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids FROM read_parquet($files)',
  );
  assert.equal(r!.n, '100001');
  assert.equal(r!.ids, '100001');
});

test('cursor literals round-trip exactly through PostgreSQL', async () => {
  const cases: [CursorKind, string[]][] = [
    ['timestamptz', ['0', '1', '-1', '-62135596800000000', '253402300799999999', '1711843200123457']],
    ['timestamp', ['0', '-999999', '253402300799999999', '-62135596800000001']],
    ['date', ['0', '-1', '-719162', '2932896']],
    ['integer', ['-9223372036854775808', '9223372036854775807']],
  ];
  for (const [kind, values] of cases) {
    for (const v of values) {
      const r = await db.query<{ v: string }>(
        `SELECT ${cursorValueSql(kind, cursorLiteralSql(kind, v))}::text AS v`,
      );
      assert.equal(r.rows[0]!.v, v, `${kind} ${v}`);
    }
  }
});
