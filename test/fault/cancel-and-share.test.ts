/**
 * Operations while running: the `progress` query, cancellation that stops the extracting backend
 * and leaves no `_SUCCESS` (a later run resumes), and two worker processes sharing one task queue.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { ExportProgress, ExportTableResult } from '../../workflows/export-table.js';
import { waitFor, WorkerFleet } from '../support/worker-process.js';
import { startSlowS3Proxy } from '../support/faulty-s3-proxy.js';
import { bucket, database, objectVersions, s3, stack, uniquePrefix } from '../support/fixtures.js';

const ROWS = 400_000;
const TABLE = 'public.it_operations';

describe('operations while running', () => {
  let db: pg.Client;
  let fleet: WorkerFleet;
  let client: Client;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_operations;
      CREATE TABLE it_operations (id bigint PRIMARY KEY, label text);
      INSERT INTO it_operations SELECT g, 'label ' || md5(g::text) FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_operations;`);
    fleet = await WorkerFleet.connect();
    client = fleet.client;
  });
  after(async () => {
    await fleet?.close();
    await db?.end();
  });

  const copyBackends = async () =>
    (
      await db.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'pg-parquet' AND query LIKE 'COPY%it_operations%'
           AND state = 'active' AND pid <> pg_backend_pid()`,
      )
    ).rows.length;

  test(
    'progress query, then cancel: the backend stops, no _SUCCESS, a later run resumes',
    { timeout: 240_000 },
    async (t) => {
      const taskQueue = `ops-${randomUUID()}`;
      // Until the cancellation, batches after the first two are stored slowly (0.5 s each, 40 s for
      // the partition), so it lands mid-partition on any machine; nothing is failed.
      const slow = await startSlowS3Proxy({ path: /\/batch=\d+\.parquet/, ms: 500, after: 2 });
      t.after(() => slow.close());
      await fleet.worker(taskQueue, { AWS_ENDPOINT_URL_S3: slow.url });
      const storage = s3();
      const prefix = uniquePrefix('cancel');
      const runKey = 'cancel-1';
      const workflowId = `pg-parquet/default/${TABLE}/${runKey}-${randomUUID().slice(0, 8)}`;
      const input = {
        source: { table: TABLE },
        destination: `s3://${bucket()}/${prefix}`,
        runKey,
        partitions: { count: 1 },
        batch: { rows: 5_000 },
      };
      const handle = await client.workflow.start('exportTable', { taskQueue, workflowId, args: [input] });
      const batches = async () =>
        [...(await objectVersions(storage, prefix)).keys()].filter((k) => k.endsWith('.parquet')).length;
      await waitFor('2 stored batches', async () => (await batches()) >= 2);
      const progress = await handle.query<ExportProgress>('progress');
      assert.equal(progress.phase, 'extracting');
      assert.equal(progress.partitions.total, 1);
      assert.equal(progress.partitions.running, 1);
      assert.equal(progress.runKey, runKey);

      await handle.cancel();
      const err = await handle.result().then(
        () => assert.fail('a cancelled run does not succeed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
      // Cancellation reaches the activity through its heartbeats; it then cancels its backend.
      await waitFor('the COPY backend to stop', async () => (await copyBackends()) === 0, 25_000);
      const keys = [...(await objectVersions(storage, prefix)).keys()];
      assert.ok(!keys.some((k) => k.endsWith('_SUCCESS')));
      const stored = await batches();
      assert.ok(
        slow.requests.some((r) => r.path.includes('batch')),
        'batches were stored through the proxy',
      );
      assert.ok(stored < ROWS / 5_000, `cancelled before the partition finished (${stored} batches stored)`);

      slow.speedUp();
      const again = await client.workflow.start('exportTable', { taskQueue, workflowId, args: [input] });
      const result = (await again.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
    },
  );

  test('two worker processes on one task queue share the partitions', { timeout: 240_000 }, async () => {
    const taskQueue = `ops-${randomUUID()}`;
    await fleet.worker(taskQueue);
    await fleet.worker(taskQueue);
    const prefix = uniquePrefix('share');
    const workflowId = `it-share-${randomUUID()}`;
    const handle = await client.workflow.start('exportTable', {
      taskQueue,
      workflowId,
      args: [
        {
          source: { table: TABLE },
          destination: `s3://${bucket()}/${prefix}`,
          runKey: 'share-1',
          partitions: { count: 8, maxConcurrent: 4 },
          batch: { rows: 10_000 },
        },
      ],
    });
    const result = (await handle.result()) as ExportTableResult;
    assert.equal(result.rows, ROWS);
    const history = await handle.fetchHistory();
    const identities = new Set(
      (history.events ?? [])
        .map((e) => e.activityTaskStartedEventAttributes?.identity)
        .filter((i): i is string => typeof i === 'string'),
    );
    assert.equal(identities.size, 2, `activities ran on ${[...identities].join(', ')}`);
  });
});
