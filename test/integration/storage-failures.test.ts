/**
 * Object-store failures through the whole exportTable workflow, against the real MinIO: refused
 * credentials and a missing bucket fail typed after one attempt; an S3 endpoint that answers 503
 * or resets the connection for a few requests makes Temporal retry the activity, and the export
 * still ends with every row exactly once (DuckDB over the data files the manifest lists).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import { parseDestination } from '../../src/contract/destination-url.js';
import { openObjectStore } from '../../src/storage/destination.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { createS3Client, DEFAULT_MAX_ATTEMPTS, S3ObjectStore } from '../../src/storage/s3-store.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import {
  startFaultyS3Proxy,
  type FaultyS3Proxy,
  type FaultyS3ProxyOptions,
  type S3Fault,
} from '../support/faulty-s3-proxy.js';
import { queryParquet } from '../support/parquet-reader.js';
import { SNAPSHOT_ACTIVITY, startHarness, type TemporalHarness } from '../support/temporal.js';
import {
  bucket,
  database,
  download,
  getObject,
  listObjects,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';
import { historyText } from '../support/history-text.js';

const TABLE = 'public.it_storage_faults';
const ROWS = 5_000;
const BATCH_ROWS = 1_000;
const RUN_KEY = 'storage-faults-1';

/** One activity as the history tells it: its type and the attempt that ended it. */
interface ActivityRecord {
  readonly activityType: string;
  readonly attempt: number;
  /** Failure type and retry class of the attempt before the last one (attempt > 1 only). */
  readonly lastFailure: { readonly type: string; readonly nonRetryable: boolean } | undefined;
}

/**
 * Every activity of a run, from its ActivityTaskStarted event. Temporal writes that event once
 * per activity, when it closes, with the last attempt's number and the previous attempt's failure.
 */
function activitiesOf(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): ActivityRecord[] {
  const events = history.events ?? [];
  const typeOf = new Map<string, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) typeOf.set(String(e.eventId), name);
  }
  const out: ActivityRecord[] = [];
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (!started) continue;
    if (typeOf.get(String(started.scheduledEventId)) === SNAPSHOT_ACTIVITY) continue;
    const last = started.lastFailure?.applicationFailureInfo;
    out.push({
      activityType: typeOf.get(String(started.scheduledEventId)) ?? '?',
      attempt: started.attempt ?? 0,
      lastFailure: last ? { type: last.type ?? '', nonRetryable: last.nonRetryable === true } : undefined,
    });
  }
  const others = [...typeOf.values()].filter((n) => n !== SNAPSHOT_ACTIVITY).length;
  assert.equal(out.length, others, 'every scheduled activity started');
  return out;
}

describe('object-store failures through exportTable', () => {
  let db: pg.Client;
  let harness: TemporalHarness;
  const proxies: FaultyS3Proxy[] = [];
  /** Destination prefix → the S3 client its store uses (others: the production store). */
  const clients = new Map<string, S3Client>();

  /** The worker's stores: the production one unless a test routed its prefix to its own client. */
  const openStore = (url: string): ObjectStore => {
    const dest = parseDestination(url);
    const client = dest.scheme === 's3' ? clients.get(`${dest.bucket}/${dest.prefix}`) : undefined;
    return client && dest.scheme === 's3'
      ? new S3ObjectStore({ bucket: dest.bucket, prefix: dest.prefix, client })
      : openObjectStore(url);
  };

  const input = (destination: string) => ({
    source: { table: TABLE, cursor: 'id' },
    destination,
    runKey: RUN_KEY,
    partitions: { count: 1 },
    batch: { rows: BATCH_ROWS },
  });

  /** Runs the export; expects it to fail; returns the surfaced failure, its activity failure, the activities. */
  async function expectFailure(destination: string): Promise<{
    failure: ApplicationFailure;
    activityFailure: ActivityFailure;
    activities: ActivityRecord[];
    historyText: string;
  }> {
    const workflowId = `it-storage-failures-${randomUUID()}`;
    const err = await harness.client.workflow
      .execute('exportTable', { taskQueue: harness.taskQueue, workflowId, args: [input(destination)] })
      .then(
        () => assert.fail('the export should fail'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
    assert.ok(err.cause.cause instanceof ActivityFailure, String(err.cause.cause));
    const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
    return {
      failure: err.cause,
      activityFailure: err.cause.cause,
      activities: activitiesOf(history),
      historyText: historyText(history),
    };
  }

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_storage_faults;
      CREATE TABLE it_storage_faults (id bigint PRIMARY KEY, v text, x float8);
      INSERT INTO it_storage_faults SELECT g, 'v' || g, g * 0.5 FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_storage_faults;`);
    harness = await startHarness({ openStore });
  });

  after(async () => {
    await harness?.close();
    for (const c of clients.values()) c.destroy();
    await Promise.all(proxies.map((p) => p.close()));
    await db?.end();
  });

  const upstream = () => process.env.AWS_ENDPOINT_URL_S3 ?? 'http://127.0.0.1:9000';

  /** Starts a fault proxy in front of MinIO, closed in after(). */
  async function proxy(options: Omit<FaultyS3ProxyOptions, 'upstream'>): Promise<FaultyS3Proxy> {
    const p = await startFaultyS3Proxy({ upstream: upstream(), ...options });
    proxies.push(p);
    return p;
  }

  const refusals = [
    ['a wrong secret key', (id: string, secret: string) => ({ accessKeyId: id, secretAccessKey: secret })],
    [
      'an unknown access key',
      (_id: string, secret: string) => ({
        accessKeyId: `NOBODY${randomUUID().slice(0, 8)}`,
        secretAccessKey: secret,
      }),
    ],
  ] as const;
  for (const [what, credentials] of refusals) {
    test(`${what}: PgParquetDestinationDenied after one attempt, no secret in the error or history`, async () => {
      const prefix = uniquePrefix('storage-denied');
      const wrongSecret = `wrong-${randomUUID()}`;
      // A plain proxy (no faults) in front of MinIO, only to see the requests and their signatures.
      const plain = await proxy({ fault: '503', count: 0 });
      clients.set(
        `${bucket()}/${prefix}`,
        new S3Client({
          endpoint: plain.url,
          forcePathStyle: true,
          region: process.env.AWS_REGION ?? 'us-east-1',
          credentials: credentials(process.env.AWS_ACCESS_KEY_ID ?? 'x', wrongSecret),
          // What production uses: the SDK must not retry a refusal either.
          maxAttempts: DEFAULT_MAX_ATTEMPTS,
        }),
      );

      const { failure, activityFailure, activities, historyText } = await expectFailure(
        `s3://${bucket()}/${prefix}`,
      );
      assert.equal(failure.type, ErrorType.DestinationDenied);
      assert.equal(activityFailure.retryState, 'NON_RETRYABLE_FAILURE');
      assert.deepEqual(
        activities.map((a) => [a.activityType, a.attempt]),
        [['pgParquetPlan', 1]],
        'the planning activity ran once and nothing after it',
      );
      assert.equal(plain.requests.length, 1, 'the SDK did not retry the refused request');

      const signatures = plain.requests.map((r) => r.signature);
      assert.ok(
        signatures.every((s) => s !== undefined && s.length === 64),
        'requests were signed',
      );
      const secrets = [wrongSecret, process.env.AWS_SECRET_ACCESS_KEY ?? '', ...(signatures as string[])];
      const errorText = JSON.stringify([failure.message, failure.details, activityFailure.message]);
      for (const secret of secrets) {
        assert.ok(secret.length >= 8, 'a real secret to look for');
        assert.ok(!errorText.includes(secret), `the error holds no secret (${secret.slice(0, 3)}…)`);
        assert.ok(!historyText.includes(secret), `the history holds no secret (${secret.slice(0, 3)}…)`);
      }
      assert.equal((await listObjects(s3(), prefix)).size, 0, 'nothing was written');
    });
  }

  test('a missing bucket: PgParquetDestinationNotFound after one attempt', async () => {
    // The production store (shared client from the environment), nothing routed.
    const { failure, activityFailure, activities } = await expectFailure(
      `s3://no-such-bucket-${randomUUID().slice(0, 8)}/x`,
    );
    assert.equal(failure.type, ErrorType.DestinationNotFound);
    assert.equal(activityFailure.retryState, 'NON_RETRYABLE_FAILURE');
    assert.deepEqual(
      activities.map((a) => [a.activityType, a.attempt]),
      [['pgParquetPlan', 1]],
    );
  });

  const FAULTS = 2;
  /** Faults hit the PUTs of raw batch files after batch 0's: extraction fails mid-partition. */
  const isBatchPut = ({ method, path }: { readonly method: string; readonly path: string }) =>
    method === 'PUT' && path.includes('/_raw/') && path.includes('.parquet');

  /**
   * Exports the table through a proxy that serves `FAULTS` faults, with the store's S3 client at
   * `maxAttempts` SDK attempts; checks that every row arrived exactly once (DuckDB over the data
   * files the manifest lists) and returns the proxy and the run's activities.
   */
  async function exportThroughFaults(
    fault: S3Fault,
    maxAttempts: number,
  ): Promise<{ proxy: FaultyS3Proxy; activities: ActivityRecord[] }> {
    const prefix = uniquePrefix(`storage-${fault}`);
    const runPrefix = `${prefix}/${TABLE}/run=${RUN_KEY}`;
    const faulty = await proxy({ fault, count: FAULTS, skip: 1, match: isBatchPut });
    // The production client settings (path style, timeouts), at this endpoint and attempt count.
    clients.set(
      `${bucket()}/${prefix}`,
      createS3Client({ endpoint: faulty.url, forcePathStyle: true, maxAttempts }),
    );

    const workflowId = `it-storage-failures-${randomUUID()}`;
    const result = await harness.client.workflow.execute<(i: unknown) => Promise<ExportTableResult>>(
      'exportTable',
      { taskQueue: harness.taskQueue, workflowId, args: [input(`s3://${bucket()}/${prefix}`)] },
    );
    assert.equal(faulty.requests.filter((r) => r.faulted).length, FAULTS, 'every fault was served');

    const client = s3();
    const manifest = JSON.parse(
      new TextDecoder().decode(await getObject(client, `${runPrefix}/_manifest.json`)),
    ) as Manifest;
    assert.equal(result.rows, ROWS);
    assert.equal(manifest.totals.rows, ROWS);
    const files = await download(
      client,
      manifest.files.map((f) => `${prefix}/${f.key}`),
    );
    const [got] = await queryParquet(
      files,
      `SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, min(id)::VARCHAR AS lo,
              max(id)::VARCHAR AS hi, sum(id)::VARCHAR AS total,
              count(*) FILTER (WHERE v = concat('v', id) AND x = id * 0.5)::VARCHAR AS intact
         FROM read_parquet($files)`,
    );
    assert.deepEqual(got, {
      n: String(ROWS),
      ids: String(ROWS),
      lo: '1',
      hi: String(ROWS),
      total: String((ROWS * (ROWS + 1)) / 2),
      intact: String(ROWS),
    });
    assert.ok((await listObjects(client, prefix)).has(`${TABLE}/run=${RUN_KEY}/_SUCCESS`));
    return {
      proxy: faulty,
      activities: activitiesOf(await harness.client.workflow.getHandle(workflowId).fetchHistory()),
    };
  }

  for (const fault of ['503', 'reset'] as const satisfies readonly S3Fault[]) {
    const what = fault === '503' ? 'answers 503' : 'resets the connection';
    test(`an endpoint that ${what} ${FAULTS} times: Temporal retries the activity, every row exactly once`, async () => {
      // Without the SDK's own retries, which absorb these faults (next test), each fault fails
      // one activity attempt, and Temporal retries it.
      const { proxy: faulty, activities } = await exportThroughFaults(fault, 1);
      assert.deepEqual(
        activities.filter((a) => a.attempt > 1).map((a) => [a.activityType, a.attempt, a.lastFailure]),
        [['pgParquetExtractPartition', FAULTS + 1, { type: ErrorType.StorageError, nonRetryable: false }]],
        'the extraction activity failed once per fault, as a retryable PgParquetStorageError',
      );
      assert.equal(
        activities.reduce((s, a) => s + a.attempt - 1, 0),
        FAULTS,
        'no other activity was retried',
      );
      const batch0 = faulty.requests.filter((r) => isBatchPut(r) && r.path.includes('batch%3D000000'));
      assert.equal(batch0.length, 1, 'the retry resumed after the stored batch 0 instead of rewriting it');
    });
  }

  test(`with the production client, the SDK's retries absorb ${FAULTS} 503s: no activity retry`, async () => {
    const { proxy: faulty, activities } = await exportThroughFaults('503', DEFAULT_MAX_ATTEMPTS);
    assert.deepEqual(
      activities.filter((a) => a.attempt > 1),
      [],
    );
    const faultedKey = faulty.requests.find((r) => r.faulted)?.path;
    assert.equal(
      faulty.requests.filter((r) => r.method === 'PUT' && r.path === faultedKey).length,
      FAULTS + 1,
      'the SDK sent the faulted PUT again until it went through',
    );
  });
});
