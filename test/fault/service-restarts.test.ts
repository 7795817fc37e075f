/**
 * Fault catalogue, the services going away mid-run: MinIO killed for 30 s, PostgreSQL shut down
 * immediately (as in a crash) and started again, the Temporal dev server killed and started again
 * on its db file. Each case runs against a private stack (test/support/private-stack.ts: its own
 * ports and data), never the shared one; the worker is a separate process and stores batches
 * through a slow loopback proxy, so that the fault lands mid-extraction on any machine. Each run
 * must end exactly (count, distinct ids and two sums as DuckDB reads them equal the source's,
 * nothing outside the manifest), the batches stored before the fault keep their ETag and
 * LastModified, and every failure the activities met on the way is a transient one of ours.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { S3Client } from '@aws-sdk/client-s3';
import { ErrorType } from '../../src/contract/errors.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { startSlowS3Proxy, type SlowS3Proxy } from '../support/faulty-s3-proxy.js';
import { assertExactRun, attemptFailures } from '../support/fault-checks.js';
import { bucket, objectVersions, uniquePrefix } from '../support/fixtures.js';
import { startPrivateStack, type PrivateStack, type StackService } from '../support/private-stack.js';
import { waitFor, WorkerFleet } from '../support/worker-process.js';

const TABLE = 'public.it_service_faults';
const ROWS = 150_000;
const BATCH_ROWS = 5_000;
/** The PUT of a stored batch. */
const BATCH_PUT = /\/_raw\/part=\d+\/batch=\d+\.parquet/;
const RAW_BATCH = /\/_raw\/part=\d+\/batch=\d+\.parquet$/;

describe('services restarted mid-run (private stack)', () => {
  let stack: PrivateStack;
  let storage: S3Client;
  let fleet: WorkerFleet;
  const proxies: SlowS3Proxy[] = [];

  /** A fresh connection to the private PostgreSQL (one dies with every restart of it). */
  async function database(): Promise<pg.Client> {
    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    db.on('error', () => undefined);
    await db.connect();
    return db;
  }

  before(async () => {
    stack = await startPrivateStack();
    storage = new S3Client({
      endpoint: stack.env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      region: stack.env.AWS_REGION ?? 'us-east-1',
      credentials: {
        accessKeyId: stack.env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: stack.env.AWS_SECRET_ACCESS_KEY ?? '',
      },
    });
    const db = await database();
    await db.query(`CREATE TABLE it_service_faults (id bigint PRIMARY KEY, label text, amount numeric(12,2), qty int);
      INSERT INTO it_service_faults SELECT g, 'label ' || md5(g::text), g / 100.0, g % 1000
        FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_service_faults;`);
    await db.end();
    fleet = await WorkerFleet.connect(stack.env.TEMPORAL_ADDRESS);
  });

  after(async () => {
    await fleet?.close();
    await Promise.all(proxies.map((p) => p.close()));
    storage?.destroy();
    await stack?.close();
  });

  /**
   * Starts an export on a worker of the private stack whose batch PUTs are held 300 ms each (after
   * the first 2), waits until `stored` batches are stored, stops `service`, keeps it down for
   * `downMs`, starts it again, and returns what the test checks.
   */
  async function runThrough(t: TestContext, name: string, service: StackService, downMs: number) {
    const slow = await startSlowS3Proxy({
      path: BATCH_PUT,
      ms: 300,
      after: 2,
      upstream: stack.env.AWS_ENDPOINT_URL_S3,
    });
    proxies.push(slow);
    const taskQueue = `restart-${randomUUID()}`;
    const prefix = uniquePrefix(name);
    const runKey = `${name}-1`;
    await fleet.worker(taskQueue, { ...stack.env, AWS_ENDPOINT_URL_S3: slow.url });
    const handle = await fleet.client.workflow.start('exportTable', {
      taskQueue,
      workflowId: `it-${name}-${randomUUID()}`,
      args: [
        {
          source: { table: TABLE, cursor: 'id' },
          destination: `s3://${bucket()}/${prefix}`,
          runKey,
          partitions: { count: 2, maxConcurrent: 2 },
          batch: { rows: BATCH_ROWS },
          compaction: { keepRaw: true },
        },
      ],
    });
    const stored = async () =>
      new Map([...(await objectVersions(storage, prefix))].filter(([k]) => RAW_BATCH.test(k)));
    await waitFor('3 stored batches', async () => (await stored()).size >= 3);
    const before = await stored();
    const t0 = Date.now();
    await stack.kill(service);
    await new Promise((r) => setTimeout(r, downMs));
    await stack.up();
    const outage = Date.now() - t0;
    slow.speedUp();
    const result = (await handle.result()) as ExportTableResult;
    const total = ROWS / BATCH_ROWS;
    assert.ok(before.size < total, 'the fault came before the last batch was stored');
    assert.equal(result.rows, ROWS);

    const db = await database();
    try {
      const figures = await assertExactRun({
        db,
        at: { s3: storage, prefix },
        table: TABLE,
        runKey,
        cursor: 'id',
        sums: ['amount', 'qty'],
      });
      const afterRun = await stored();
      for (const [key, version] of before) {
        assert.equal(afterRun.get(key), version, `${key} stored before the fault was not rewritten`);
      }
      const failures = await attemptFailures(fleet.client, handle);
      t.diagnostic(
        `${service} down ${(outage / 1000).toFixed(1)} s after ${before.size}/${total} batches: ` +
          `${failures.length} failed attempts ${JSON.stringify(failures.map((f) => `${f.activity}:${f.type}`))}; ` +
          `rows ${figures.rows}, distinct ids ${figures.distinctCursors}, files ${figures.files}, ` +
          `sums ${JSON.stringify(figures.sums)}, consistency ${figures.manifest.consistency.mode}`,
      );
      // Only transient failures, but for a lost snapshot, which the workflow itself handles.
      for (const f of failures.filter((f) => f.type !== ErrorType.SnapshotLost)) {
        assert.equal(f.nonRetryable, false, `${f.activity}: ${f.type} is transient`);
      }
      return { failures, figures };
    } finally {
      await db.end();
    }
  }

  test(
    'MinIO killed for 30 s mid-extraction: the retries span the outage, the run ends exactly',
    { timeout: 300_000 },
    async (t) => {
      const { failures } = await runThrough(t, 'minio-killed', 'minio', 30_000);
      assert.ok(failures.length > 0, 'the outage was seen by the activities');
      for (const f of failures) assert.equal(f.type, ErrorType.StorageError, `${f.activity}: ${f.type}`);
    },
  );

  test(
    'PostgreSQL shut down immediately and restarted mid-extraction: the run ends exactly',
    { timeout: 300_000 },
    async (t) => {
      const { failures, figures } = await runThrough(t, 'postgres-restarted', 'postgres', 3_000);
      // The restart ends the run's exported snapshot with every backend: the run replaces it
      // (cancelling the extractions that read in it, or retrying those that failed), and its
      // manifest must not claim the snapshot it lost.
      assert.ok(failures.length > 0, 'the restart was seen by the activities');
      assert.equal(figures.manifest.consistency.mode, 'partition', 'no claim of the lost snapshot');
      const transient = new Set<string>([
        ErrorType.SourceUnavailable,
        ErrorType.SourceError,
        ErrorType.CopyFormat,
        ErrorType.SnapshotLost,
        'cancelled',
      ]);
      for (const f of failures) assert.ok(transient.has(f.type), `${f.activity}: ${f.type}: ${f.message}`);
    },
  );

  // 3 s: shorter than the extraction's 20 s heartbeat timeout; 25 s: longer, so that the
  // restarted server times out the attempts it did not hear from while the worker still runs them.
  for (const downS of [3, 25]) {
    test(
      `Temporal dev server killed for ${downS} s and restarted on its db file mid-extraction: the run ends exactly`,
      { timeout: 300_000 },
      async (t) => {
        const { failures } = await runThrough(t, `temporal-down-${downS}s`, 'temporal', downS * 1000);
        // The worker may finish its attempts while the server is away (completions are retried) or
        // have them timed out by the restarted server: either way only transient failures.
        for (const f of failures)
          assert.ok(
            f.type === ErrorType.StorageError || f.type.startsWith('timeout:'),
            `${f.activity}: ${f.type}`,
          );
      },
    );
  }
});
