/**
 * Durability under real faults: the worker process is SIGKILLed mid-partition and mid-compaction,
 * a run is terminated and started again, and the extracting backend is terminated mid-COPY.
 * Every time the run completes with each source row exactly once, and what was stored before
 * the fault is not rewritten.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTableInput } from '../../src/contract/export-input.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { waitFor, WorkerFleet, type WorkerProcess } from '../support/worker-process.js';
import { startSlowS3Proxy, type SlowS3Proxy } from '../support/faulty-s3-proxy.js';
import {
  bucket,
  database,
  download,
  getObject,
  objectVersions,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';

const ROWS = 600_000;
const TABLE = 'public.it_faults';
/** The PUT of a stored batch. */
const BATCH_PUT = /\/_raw\/part=\d+\/batch=\d+\.parquet/;

describe('kill, terminate and resume', () => {
  let db: pg.Client;
  let storage: S3Client;
  let fleet: WorkerFleet;
  let client: Client;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_faults;
      CREATE TABLE it_faults (id bigint PRIMARY KEY, label text, at timestamptz, amount numeric(12,2));
      INSERT INTO it_faults SELECT g, 'label ' || md5(g::text), timestamptz '2024-01-01' + g * interval '1 s', g / 100.0
        FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_faults;`);
    storage = s3();
    fleet = await WorkerFleet.connect();
    client = fleet.client;
  });

  after(async () => {
    await fleet?.close();
    await db?.end();
  });

  const worker = (taskQueue: string): Promise<WorkerProcess> => fleet.worker(taskQueue);

  /**
   * A worker on a fresh task queue, and an export of TABLE to a fresh prefix started on it. The
   * worker stores through `slow` (a proxy that holds some PUTs), so that the test's fault lands
   * mid-phase on any machine.
   */
  async function startRun(
    name: string,
    runKey: string,
    input: Omit<ExportTableInput, 'destination'>,
    slow: SlowS3Proxy,
  ) {
    const taskQueue = `fault-${randomUUID()}`;
    const prefix = uniquePrefix(name);
    const first = await fleet.worker(taskQueue, { AWS_ENDPOINT_URL_S3: slow.url });
    const handle = await client.workflow.start('exportTable', {
      taskQueue,
      workflowId: `it-${name}-${randomUUID()}`,
      args: [{ ...input, destination: `s3://${bucket()}/${prefix}`, runKey }],
    });
    return { taskQueue, prefix, first, handle };
  }

  /** Checks the finished run against the source with DuckDB: every id once, nothing else. */
  async function assertExactlyOnce(prefix: string, runKey: string): Promise<Manifest> {
    const runPrefix = `${prefix}/${TABLE}/run=${runKey}`;
    const manifest = JSON.parse(
      new TextDecoder().decode(await getObject(storage, `${runPrefix}/_manifest.json`)),
    ) as Manifest;
    await getObject(storage, `${runPrefix}/_SUCCESS`);
    const paths = await download(
      storage,
      manifest.files.map((f) => `${prefix}/${f.key}`),
    );
    const [r] = await queryParquet(
      paths,
      'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, min(id)::VARCHAR AS lo, max(id)::VARCHAR AS hi, sum(amount)::VARCHAR AS total FROM read_parquet($files)',
    );
    const src = (
      await db.query<{ n: string; lo: string; hi: string; total: string }>(
        'SELECT count(*)::text AS n, min(id)::text AS lo, max(id)::text AS hi, sum(amount)::text AS total FROM it_faults',
      )
    ).rows[0]!;
    assert.equal(r!.n, src.n, 'row count');
    assert.equal(r!.ids, src.n, 'no id appears twice');
    assert.equal(r!.lo, src.lo);
    assert.equal(r!.hi, src.hi);
    assert.equal(r!.total, src.total, 'sum of amounts');
    assert.equal(manifest.totals.rows, Number(src.n));
    return manifest;
  }

  const rawBatches = (versions: Map<string, string>) =>
    new Map([...versions].filter(([k]) => /\/_raw\/part=\d+\/batch=\d+\.parquet$/.test(k)));

  test(
    'SIGKILL of the worker mid-partition: a new worker resumes after the stored batches',
    { timeout: 240_000 },
    async (t) => {
      const runKey = 'kill-1';
      const slow = await startSlowS3Proxy({ path: BATCH_PUT, ms: 500, after: 3 });
      t.after(() => slow.close());
      const { taskQueue, prefix, first, handle } = await startRun(
        'kill-extract',
        runKey,
        {
          source: { table: TABLE },
          partitions: { count: 1 },
          batch: { rows: 20_000 },
          compaction: { keepRaw: true },
        },
        slow,
      );
      await waitFor(
        '3 stored batches',
        async () => rawBatches(await objectVersions(storage, prefix)).size >= 3,
      );
      await first.kill();
      slow.speedUp();
      const before = rawBatches(await objectVersions(storage, prefix));
      assert.ok(before.size < ROWS / 20_000, 'the partition was not finished when the worker died');
      await worker(taskQueue);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      await assertExactlyOnce(prefix, runKey);
      const afterKill = rawBatches(await objectVersions(storage, prefix));
      for (const [key, version] of before)
        assert.equal(afterKill.get(key), version, `${key} was not rewritten`);
      assert.equal(afterKill.size, ROWS / 20_000);
    },
  );

  test(
    'SIGKILL during compaction: the run completes, finished data files are kept',
    { timeout: 240_000 },
    async (t) => {
      const runKey = 'kill-2';
      const slow = await startSlowS3Proxy({ path: /\/run=[^/]+\/part-\d{5}\.parquet/, ms: 1_000, after: 2 });
      t.after(() => slow.close());
      const { taskQueue, prefix, first, handle } = await startRun(
        'kill-compact',
        runKey,
        {
          source: { table: TABLE },
          partitions: { count: 2, maxConcurrent: 1 },
          batch: { rows: 10_000 },
          compaction: { targetFileBytes: 1_500_000 },
        },
        slow,
      );
      const dataFiles = (v: Map<string, string>) =>
        new Map([...v].filter(([k]) => /\/run=[^/]+\/part-\d{5}\.parquet$/.test(k)));
      await waitFor('2 data files', async () => dataFiles(await objectVersions(storage, prefix)).size >= 2);
      await first.kill();
      slow.speedUp();
      const before = dataFiles(await objectVersions(storage, prefix));
      await worker(taskQueue);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      assert.ok(result.files > before.size, 'compaction was not finished when the worker died');
      await assertExactlyOnce(prefix, runKey);
      const after = dataFiles(await objectVersions(storage, prefix));
      for (const [key, version] of before) assert.equal(after.get(key), version, `${key} was not rewritten`);
    },
  );

  test(
    'a terminated run started again under the same id skips finished partitions',
    { timeout: 240_000 },
    async () => {
      const taskQueue = `fault-${randomUUID()}`;
      const prefix = uniquePrefix('terminate');
      const runKey = 'terminate-1';
      const workflowId = `pg-parquet/default/${TABLE}/${runKey}-${randomUUID().slice(0, 8)}`;
      await worker(taskQueue);
      const input = {
        source: { table: TABLE },
        destination: `s3://${bucket()}/${prefix}`,
        runKey,
        partitions: { count: 4, maxConcurrent: 1 },
        batch: { rows: 10_000 },
        compaction: { keepRaw: true },
      };
      const handle = await client.workflow.start('exportTable', { taskQueue, workflowId, args: [input] });
      const marker = `${TABLE}/run=${runKey}/_partitions/part=00000.json`;
      await waitFor('partition 0 finished', async () => (await objectVersions(storage, prefix)).has(marker));
      await handle.terminate('test: stop mid-way');
      const before = await objectVersions(storage, prefix);
      const part0 = new Map(
        [...before].filter(
          ([k]) => k.includes('/_raw/part=00000/') || k.endsWith('/_partitions/part=00000.json'),
        ),
      );
      const again = await client.workflow.start('exportTable', { taskQueue, workflowId, args: [input] });
      const result = (await again.result()) as ExportTableResult;
      assert.ok(result.skippedPartitions >= 1, `skipped ${result.skippedPartitions}`);
      await assertExactlyOnce(prefix, runKey);
      const after = await objectVersions(storage, prefix);
      for (const [key, version] of part0) assert.equal(after.get(key), version, `${key} was not rewritten`);
    },
  );

  test('pg_terminate_backend mid-COPY: retried, resumed, no duplicates', { timeout: 240_000 }, async (t) => {
    const runKey = 'backend-1';
    const slow = await startSlowS3Proxy({ path: BATCH_PUT, ms: 500, after: 2 });
    t.after(() => slow.close());
    const { prefix, handle } = await startRun(
      'terminate-backend',
      runKey,
      {
        // A filter that keeps every row and marks this test's COPY in pg_stat_activity: backends
        // of earlier tests' killed workers may still be running their COPY.
        source: { table: TABLE, where: "label <> 'pg-terminate-marker'" },
        partitions: { count: 1 },
        batch: { rows: 20_000 },
        compaction: { keepRaw: true },
      },
      slow,
    );
    await waitFor(
      '2 stored batches',
      async () => rawBatches(await objectVersions(storage, prefix)).size >= 2,
    );
    const killed = await db.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE application_name = 'pg-parquet' AND backend_type = 'client backend'
          AND query LIKE 'COPY%pg-terminate-marker%' AND pid <> pg_backend_pid()`,
    );
    assert.equal(killed.rows.length, 1, 'one extracting backend was found');
    slow.speedUp();
    const before = rawBatches(await objectVersions(storage, prefix));
    const result = (await handle.result()) as ExportTableResult;
    assert.equal(result.rows, ROWS);
    await assertExactlyOnce(prefix, runKey);
    const after = rawBatches(await objectVersions(storage, prefix));
    for (const [key, version] of before) assert.equal(after.get(key), version, `${key} was not rewritten`);
  });
});
