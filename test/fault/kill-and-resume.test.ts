/**
 * Durability under real faults: the worker process is SIGKILLed mid-partition, mid-compaction
 * and mid-finalize, a run is terminated and started again, and the extracting backend is
 * terminated mid-COPY. Every time the run completes with each source row exactly once, and what
 * was stored before the fault is not rewritten. For the kills, the time from the kill until the
 * replacement attempt started is printed (not asserted: every phase heartbeats, with a 20 s
 * heartbeat timeout).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTableInput } from '../../src/contract/export-input.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { chainHistories } from '../support/run-chain.js';
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

  /**
   * How long after `killedAt` (ms since the epoch) the next attempt of `activity` started: the
   * first ActivityTaskStarted event of that type after the kill, in any run of the workflow (a
   * run whose snapshot died with the worker continues as new and starts the activity afresh).
   * The runs are read from the chain itself (chainHistories), not from the visibility store.
   */
  async function replacementDelay(
    handle: WorkflowHandleWithFirstExecutionRunId,
    activity: string,
    killedAt: number,
  ): Promise<number> {
    const starts: number[] = [];
    for (const events of await chainHistories(client, handle.workflowId, handle.firstExecutionRunId)) {
      const types = new Map<string, string>();
      for (const e of events) {
        const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
        if (name) types.set(String(e.eventId), name);
        const started = e.activityTaskStartedEventAttributes;
        if (started && types.get(String(started.scheduledEventId)) === activity) {
          const at = Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
          if (at > killedAt) starts.push(at);
        }
      }
    }
    assert.ok(starts.length > 0, `no attempt of ${activity} started after the kill`);
    return Math.min(...starts) - killedAt;
  }

  const report = (phase: string, ms: number) =>
    console.log(
      `[replacement] worker SIGKILLed during ${phase}: retried attempt started ${(ms / 1000).toFixed(1)} s later`,
    );

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
      const killedAt = Date.now();
      slow.speedUp();
      const before = rawBatches(await objectVersions(storage, prefix));
      assert.ok(before.size < ROWS / 20_000, 'the partition was not finished when the worker died');
      await worker(taskQueue);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      report('extraction', await replacementDelay(handle, 'pgParquetExtractPartition', killedAt));
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
      const dataFilePut = /\/run=[^/]+\/part-\d{5}\.parquet/;
      const slow = await startSlowS3Proxy({ path: dataFilePut, ms: 5_000, after: 2 });
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
      // Killed while a compaction activity stores its data file (the proxy holds that PUT).
      await waitFor('a held data file PUT', () =>
        Promise.resolve(
          slow.requests.filter((r) => r.method === 'PUT' && dataFilePut.test(decodeURIComponent(r.path)))
            .length > 2,
        ),
      );
      await first.kill();
      const killedAt = Date.now();
      slow.speedUp();
      const before = dataFiles(await objectVersions(storage, prefix));
      await worker(taskQueue);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      assert.ok(result.files > before.size, 'compaction was not finished when the worker died');
      report('compaction', await replacementDelay(handle, 'pgParquetCompact', killedAt));
      await assertExactlyOnce(prefix, runKey);
      const after = dataFiles(await objectVersions(storage, prefix));
      for (const [key, version] of before) assert.equal(after.get(key), version, `${key} was not rewritten`);
    },
  );

  test(
    'SIGKILL during finalize: a new worker finishes the run within the heartbeat timeout, nothing stored is rewritten',
    { timeout: 240_000 },
    async (t) => {
      const runKey = 'kill-3';
      // Finalize's manifest PUT is held: the worker dies after verifying, before `_SUCCESS`.
      const slow = await startSlowS3Proxy({ path: /\/_manifest\.json/, ms: 60_000, after: 0 });
      t.after(() => slow.close());
      const { taskQueue, prefix, first, handle } = await startRun(
        'kill-finalize',
        runKey,
        {
          source: { table: TABLE },
          partitions: { count: 2 },
          batch: { rows: 50_000 },
          compaction: { keepRaw: true },
        },
        slow,
      );
      await waitFor('the manifest PUT', () =>
        Promise.resolve(slow.requests.some((r) => r.method === 'PUT' && r.path.includes('_manifest.json'))),
      );
      const before = await objectVersions(storage, prefix);
      assert.ok(
        ![...before.keys()].some((k) => k.endsWith('/_SUCCESS')),
        'the run was not finished when the worker died',
      );
      await first.kill();
      const killedAt = Date.now();
      slow.speedUp();
      await worker(taskQueue);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      report('finalize', await replacementDelay(handle, 'pgParquetFinalize', killedAt));
      await assertExactlyOnce(prefix, runKey);
      const after = await objectVersions(storage, prefix);
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
