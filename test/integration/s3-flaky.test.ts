/**
 * Fault catalogue, S3 answering badly: a loopback proxy in front of MinIO gives a seeded ~10% of
 * all requests (puts, gets, lists, deletes, multipart steps) a 503 or 500 with an S3 XML error
 * body, a TCP reset before forwarding, or a reset after MinIO did the work (the answer lost).
 * The run, on a worker process whose every S3 request goes through the proxy, must end exactly:
 * every source row once, the sums equal, no data file outside the manifest; and the proxy must
 * have injected faults of every kind, so that the test cannot pass without them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { ErrorType } from '../../src/contract/errors.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { startFlakyS3Proxy, type FlakyS3Proxy, type S3Fault } from '../support/faulty-s3-proxy.js';
import { assertExactRun, attemptFailures } from '../support/fault-checks.js';
import { bucket, database, s3, stack, uniquePrefix } from '../support/fixtures.js';
import { WorkerFleet } from '../support/worker-process.js';

const TABLE = 'public.it_s3_flaky';
const ROWS = 60_000;
/** Fixed, so that a failure can be replayed; printed with the figures. */
const SEED = 20261201;
const FAULTS: readonly S3Fault[] = ['503', '500', 'reset', 'answer-lost'];

let db: pg.Client;
let storage: S3Client;
let fleet: WorkerFleet;
let proxy: FlakyS3Proxy;

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_s3_flaky;
    CREATE TABLE it_s3_flaky (id bigint PRIMARY KEY, label text, amount numeric(12,2), qty int);
    INSERT INTO it_s3_flaky SELECT g, 'label ' || md5(g::text), g / 100.0, g % 1000
      FROM generate_series(1, ${ROWS}) g;
    ANALYZE it_s3_flaky;`);
  storage = s3();
  fleet = await WorkerFleet.connect();
  proxy = await startFlakyS3Proxy({ rate: 0.1, seed: SEED, max: 60, faults: FAULTS });
});

after(async () => {
  await fleet?.close();
  await proxy?.close();
  await db?.end();
});

test(
  'S3 faulting ~10% of requests (5xx, resets, lost answers): the run ends exactly',
  { timeout: 240_000 },
  async (t) => {
    const taskQueue = `flaky-${randomUUID()}`;
    const prefix = uniquePrefix('s3-flaky');
    const runKey = 'flaky-1';
    await fleet.worker(taskQueue, { AWS_ENDPOINT_URL_S3: proxy.url });
    const handle = await fleet.client.workflow.start('exportTable', {
      taskQueue,
      workflowId: `it-s3-flaky-${randomUUID()}`,
      args: [
        {
          source: { table: TABLE, cursor: 'id' },
          destination: `s3://${bucket()}/${prefix}`,
          runKey,
          partitions: { count: 3, maxConcurrent: 2 },
          batch: { rows: 2_000 },
        },
      ],
    });
    const result = (await handle.result()) as ExportTableResult;
    assert.equal(result.rows, ROWS);

    const figures = await assertExactRun({
      db,
      at: { s3: storage, prefix },
      table: TABLE,
      runKey,
      cursor: 'id',
      sums: ['amount', 'qty'],
    });
    const injected = Object.values(proxy.injected).reduce((a, b) => a + b, 0);
    for (const kind of FAULTS) assert.ok(proxy.injected[kind] > 0, `the proxy injected ${kind} faults`);
    // What got past the SDK's own retries reached Temporal as a retryable storage error, nothing else.
    const failures = await attemptFailures(fleet.client, handle);
    for (const f of failures) {
      assert.equal(f.type, ErrorType.StorageError, `${f.activity} failed with ${f.type}`);
      assert.equal(f.nonRetryable, false);
    }
    t.diagnostic(
      `seed ${SEED}: ${proxy.requests.length} requests, ${injected} faults ${JSON.stringify(proxy.injected)}; ` +
        `${failures.length} activity attempts failed (${failures.map((f) => f.activity).join(', ') || 'none'}); ` +
        `rows ${figures.rows}, distinct ids ${figures.distinctCursors}, files ${figures.files}, sums ${JSON.stringify(figures.sums)}`,
    );
  },
);
