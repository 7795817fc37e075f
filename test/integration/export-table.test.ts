/**
 * End to end: a table holding every v1 type, NULLs in every column, exported by the real
 * exportTable workflow on the Temporal dev server, to MinIO, read back with DuckDB.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { exportWorkflowId } from '../../workflows/run-key.js';
import { waitForExport } from '../../src/client.js';
import { activitySummaries, historyText } from '../support/history-text.js';
import { queryParquet } from '../support/parquet-reader.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import {
  bucket,
  database,
  deleteObjects,
  download,
  getObject,
  listObjects,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';

const TABLE = 'public.it_all_types';
const RUN_KEY = 'it-run-1';

const CREATE = `
DROP TABLE IF EXISTS it_all_types;
CREATE TABLE it_all_types (
  id bigint PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, b boolean,
  t text, vc varchar(20), n numeric(20,4), nu numeric, d date, ts timestamp, tstz timestamptz,
  u uuid, j json, jb jsonb
);
-- Generated rows; every column is NULL on some rows.
INSERT INTO it_all_types
SELECT g, (g % 32000)::int2, g * 7, g::int8 * 1000003, (g / 3.0)::real, g / 7.0, g % 2 = 0,
       'text ' || g, 'v' || g, round(g * 1.2345, 4), (g::numeric / 13),
       date '2000-01-01' + g, timestamp '2020-01-01 00:00:00' + g * interval '1.000123 second',
       timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute 0.000007 s',
       md5(g::text)::uuid, json_build_object('g', g), jsonb_build_object('g', g, 'k', 'x')
FROM generate_series(1, 4000) g;
UPDATE it_all_types SET i2 = NULL WHERE id % 11 = 0;
UPDATE it_all_types SET i4 = NULL, f4 = NULL WHERE id % 13 = 0;
UPDATE it_all_types SET i8 = NULL, f8 = NULL, b = NULL WHERE id % 17 = 0;
UPDATE it_all_types SET t = NULL, vc = NULL, n = NULL, nu = NULL WHERE id % 19 = 0;
UPDATE it_all_types SET d = NULL, ts = NULL, tstz = NULL, u = NULL, j = NULL, jb = NULL WHERE id % 23 = 0;
-- Edge values.
INSERT INTO it_all_types VALUES
 (-5, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', false, '', '', -9999999999999999.9999,
  '-0.0001', '0001-01-01', '1900-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999+00',
  '00000000-0000-0000-0000-000000000000', '[]', '{}'),
 (-4, 32767, 2147483647, 9223372036854775807, 'Infinity', 'NaN', true, '😀 ünïcödé 𝄞', 'x',
  9999999999999999.9999, '12345678901234567890.123456789012345678901234567890', '9999-12-31',
  '2262-04-11 23:47:16.854775', '2038-01-19 03:14:08.123456+05:30', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '{"a": [1, 2.50, "x"]}', '{"nested": {"deep": [null, true, 1.5e10]}}'),
 (-3, 0, 0, 0, '-0', '-0', false, 'tab\tnewline\nquote''"', 'y', 0, '0', '1970-01-01',
  '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '12345678-1234-5678-1234-567812345678', 'null', 'null'),
 (-2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
ANALYZE it_all_types;`;

/** Per column: PostgreSQL expression and DuckDB expression producing the same canonical text. */
const COMPARE: Record<string, [pg: string, duck: string]> = {
  id: ['id::text', 'id::VARCHAR'],
  i2: ['i2::text', 'i2::VARCHAR'],
  i4: ['i4::text', 'i4::VARCHAR'],
  i8: ['i8::text', 'i8::VARCHAR'],
  b: ['b::text', 'b::VARCHAR'],
  t: ['t', 't'],
  vc: ['vc', 'vc'],
  n: ['n::text', 'n::VARCHAR'],
  nu: ['nu::text', 'nu'],
  d: [`(d - date '1970-01-01')::text`, `(d - DATE '1970-01-01')::VARCHAR`],
  ts: [`(extract(epoch FROM ts) * 1000000)::numeric(30,0)::text`, 'epoch_us(ts)::VARCHAR'],
  tstz: [`(extract(epoch FROM tstz) * 1000000)::numeric(30,0)::text`, 'epoch_us(tstz)::VARCHAR'],
  u: ['u::text', 'u'],
  j: ['j::text', 'j'],
  jb: ['jb::text', 'jb'],
};

describe('exportTable end to end', () => {
  let db: pg.Client;
  let client: S3Client;
  let harness: TemporalHarness;
  let prefix: string;
  let first: ExportTableResult;
  let manifest: Manifest;
  const workflowId = exportWorkflowId('default', TABLE, RUN_KEY) + `-${Date.now()}`;
  const runPrefix = () => `${prefix}/${TABLE}/run=${RUN_KEY}`;

  const input = () => ({
    source: { table: TABLE, cursor: 'id' },
    destination: `s3://${bucket()}/${prefix}`,
    runKey: RUN_KEY,
    partitions: { count: 3, maxConcurrent: 2 },
    batch: { rows: 700 },
    // Small data files so that compaction writes several; raw files kept to check byte identity.
    compaction: { targetFileBytes: 120_000, keepRaw: true },
    parquet: { rowGroupRows: 1000 },
    // Each partition in its own snapshot: a re-extraction then writes the same bytes (under one
    // run snapshot, raw batches name it; test/integration/snapshot.test.ts covers that mode).
    consistency: 'partition',
  });

  const jsonAt = async (key: string): Promise<unknown> =>
    JSON.parse(new TextDecoder().decode(await getObject(client, key))) as unknown;

  const run = async (): Promise<ExportTableResult> =>
    harness.client.workflow.execute<(i: unknown) => Promise<ExportTableResult>>('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId,
      args: [input()],
    });

  before(async () => {
    stack();
    db = await database();
    await db.query(CREATE);
    client = s3();
    prefix = uniquePrefix('all-types');
    harness = await startHarness();
    first = await run();
    manifest = JSON.parse(
      new TextDecoder().decode(await getObject(client, `${runPrefix()}/_manifest.json`)),
    ) as Manifest;
  });

  after(async () => {
    await harness?.close();
    await db?.end();
  });

  test('the manifest totals equal count(*) and every partition is verified', async () => {
    const count = Number(
      (await db.query<{ n: string }>('SELECT count(*)::text AS n FROM it_all_types')).rows[0]!.n,
    );
    assert.equal(first.rows, count);
    assert.equal(manifest.totals.rows, count);
    assert.equal(manifest.partitions.length, 3);
    assert.equal(
      manifest.partitions.reduce((s, p) => s + p.sourceRows, 0),
      count,
    );
    for (const p of manifest.partitions) assert.equal(p.rows, p.sourceRows);
    assert.equal(
      manifest.files.reduce((s, f) => s + f.rows, 0),
      count,
    );
    assert.equal(manifest.layout, 'compacted');
    assert.ok(manifest.files.length > 1, 'small target file size gives several data files');
    assert.ok(manifest.files.every((f) => f.key.startsWith(`${TABLE}/run=${RUN_KEY}/part-`)));
    assert.ok(
      manifest.files.some((f) => f.rowGroups > 1),
      'data files have row groups of parquet.rowGroupRows',
    );
    const objects = await listObjects(client, prefix);
    assert.ok(objects.has(`${TABLE}/run=${RUN_KEY}/_SUCCESS`));
    for (const f of manifest.files) assert.ok(objects.has(f.key), `${f.key} is stored`);
    const raw = [...objects.keys()].filter((k) => k.includes('/_raw/') && k.endsWith('.parquet'));
    const batches = manifest.partitions.reduce((s, p) => s + Math.ceil(p.rows / 700), 0);
    assert.equal(raw.length, batches, 'one raw file per batch of 700 rows (kept: keepRaw)');
    const types = Object.fromEntries(manifest.columns.map((c) => [c.name, c.pgType]));
    assert.equal(types.n, 'numeric(20,4)');
    assert.equal(types._extracted_at, null);
  });

  test('every value read back by an independent reader equals the source', async () => {
    const paths = await download(
      client,
      manifest.files.map((f) => `${prefix}/${f.key}`),
    );
    const cols = Object.keys(COMPARE);
    const duckRows = await queryParquet(
      paths,
      `SELECT ${cols.map((c) => `${COMPARE[c]![1]} AS ${c}`).join(', ')}, f4, f8, _extraction_id, epoch_us(_extracted_at)::VARCHAR AS xat
         FROM read_parquet($files) ORDER BY id`,
    );
    const pgRows = (
      await db.query(
        `SELECT ${cols.map((c) => `${COMPARE[c]![0]} AS ${c}`).join(', ')}, f4, f8 FROM it_all_types ORDER BY id`,
      )
    ).rows as Record<string, unknown>[];
    assert.equal(duckRows.length, pgRows.length);
    const ids = new Set<unknown>();
    for (const [i, want] of pgRows.entries()) {
      const got = duckRows[i]!;
      ids.add(got.id);
      for (const c of cols) assert.equal(got[c], want[c], `row id=${String(want.id)} column ${c}`);
      const f4 = want.f4 === null ? null : Math.fround(Number(want.f4));
      assert.ok(
        Object.is(got.f4 === null ? null : Math.fround(got.f4 as number), f4),
        `f4 of id=${String(want.id)}`,
      );
      assert.ok(Object.is(got.f8, want.f8 === null ? null : Number(want.f8)), `f8 of id=${String(want.id)}`);
      assert.equal(got._extraction_id, RUN_KEY);
      assert.equal(got.xat, String(Date.parse(manifest.extractedAt) * 1000));
    }
    assert.equal(ids.size, pgRows.length, 'no id appears twice');
  });

  test(
    're-running the same runKey skips finished partitions and rewrites nothing',
    { timeout: 120_000 },
    async () => {
      const before = await listObjects(client, prefix);
      // Through the library's waiting helper with a 10-minute progress interval: the result must
      // come when the run ends, not after the interval (the test's timeout fails a wait for it).
      const handle = await harness.client.workflow.start('exportTable', {
        taskQueue: harness.taskQueue,
        workflowId,
        args: [input()],
      });
      const again = await waitForExport(handle, () => undefined, 600_000);
      assert.equal(again.skippedPartitions, 3);
      assert.equal(again.rows, first.rows);
      assert.deepEqual(await listObjects(client, prefix), before);
    },
  );

  test('re-extracting the same runKey writes byte-identical objects under the same keys', async () => {
    const before = await listObjects(client, prefix);
    const beforeDocs = new Map<string, Promise<unknown>>();
    for (const key of before.keys())
      if (key.endsWith('.json')) beforeDocs.set(key, jsonAt(`${prefix}/${key}`));
    await Promise.all(beforeDocs.values());
    // Keep only the plan: every batch, marker, data file and the manifest are written again.
    const plan = (k: string) => k.endsWith('/_plan.json') || k.includes('/_plan/');
    const all = [...before.keys()].filter((k) => !plan(k));
    await deleteObjects(
      client,
      all.map((k) => `${prefix}/${k}`),
    );
    assert.ok([...(await listObjects(client, prefix)).keys()].every(plan));
    const again = await run();
    assert.equal(again.skippedPartitions, 0);
    const after = await listObjects(client, prefix);
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'same keys, nothing extra');
    for (const [key, etag] of before) {
      if (!key.endsWith('.json')) {
        assert.equal(after.get(key), etag, `${key} is byte-identical`);
        continue;
      }
      // Documents differ only where they record when their partitions were read.
      const [was, is] = await Promise.all([beforeDocs.get(key), jsonAt(`${prefix}/${key}`)]);
      assert.deepEqual(withoutReadPoints(is), withoutReadPoints(was), `${key} holds the same`);
    }
  });

  test('without keepRaw, compaction leaves only data files, markers and the manifest', async () => {
    const runKey = 'it-run-2';
    const result = await harness.client.workflow.execute<(i: unknown) => Promise<ExportTableResult>>(
      'exportTable',
      {
        taskQueue: harness.taskQueue,
        workflowId: `${workflowId}-${runKey}`,
        args: [{ ...input(), runKey, compaction: { targetFileBytes: 10_000_000 } }],
      },
    );
    assert.equal(result.rows, first.rows);
    assert.equal(result.files, 1);
    const keys = [...(await listObjects(client, prefix)).keys()].filter((k) => k.includes(`run=${runKey}/`));
    assert.deepEqual(
      keys.filter((k) => k.endsWith('.parquet')),
      [`${TABLE}/run=${runKey}/part-00000.parquet`],
    );
    assert.equal(keys.filter((k) => /\/_partitions\/part=\d+\.json$/.test(k)).length, 3);
  });

  test('the workflow history holds no password and no DSN, payloads decoded', async () => {
    const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
    const text = historyText(history);
    // Activity inputs travel only inside payloads: their field names show once those are decoded.
    assert.ok(text.includes('"intermediate"'), 'the payloads were decoded');
    assert.ok(!JSON.stringify(history).includes('"intermediate"'), 'the raw JSON holds no payload text');
    const secrets = [
      process.env.AWS_SECRET_ACCESS_KEY!,
      new URL(process.env.DATABASE_URL!).password,
      'postgres://',
    ];
    for (const s of secrets)
      assert.ok(s.length > 3 && !text.includes(s), `history must not contain ${s.slice(0, 3)}…`);
  });

  test('each extraction and compaction activity carries a summary the Temporal UI shows', async () => {
    const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
    const summaries = activitySummaries(history);
    const extracts = summaries.filter((a) => a.type === 'pgParquetExtractPartition').map((a) => a.summary);
    assert.ok(extracts.length > 1, 'several partitions');
    extracts.forEach((s, i) =>
      assert.match(
        s ?? '',
        new RegExp(`^public\\.it_all_types: partition ${i + 1} of ${extracts.length}: cursor \\[`),
      ),
    );
    const compacts = summaries.filter((a) => a.type === 'pgParquetCompact').map((a) => a.summary);
    compacts.forEach((s, i) =>
      assert.match(s ?? '', new RegExp(`data file ${i + 1} of ${compacts.length}$`)),
    );
  });
});

/** A run document without the points in time its partitions were read at (`readIn`, `consistency`). */
function withoutReadPoints(doc: unknown): unknown {
  return JSON.parse(JSON.stringify(doc), (k, v: unknown) =>
    k === 'readIn' || k === 'consistency' ? undefined : v,
  );
}
