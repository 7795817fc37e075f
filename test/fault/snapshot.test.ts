/**
 * One snapshot per run, against a table written to throughout the run: the output equals the
 * table as of the run's snapshot (pinned by the test with SET TRANSACTION SNAPSHOT while the run
 * holds it), the manifest states that snapshot, and the holder lets go at the end. With the
 * holder's worker SIGKILLed mid-run, no manifest claims one snapshot over rows of two: strict
 * `consistency: "snapshot"` reads every partition again in a new one; the default keeps what
 * is finished and says so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Manifest } from '../../src/run/manifest.js';
import type { RunSnapshot } from '../../src/contract/snapshot.js';
import { holderApplicationName } from '../../src/export/take-snapshot.js';
import type { ExportProgress, ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { startSlowS3Proxy, type SlowS3Proxy } from '../support/faulty-s3-proxy.js';
import { waitFor, WorkerFleet, type WorkerProcess } from '../support/worker-process.js';
import { bucket, database, download, getObject, s3, stack, uniquePrefix } from '../support/fixtures.js';

const ROWS = 200_000;
const TABLE = 'public.it_snapshot';
/** count, sums and a digest of (id, v) in id order: equal in PostgreSQL and DuckDB for equal rows. */
const PG_DIGEST = `SELECT count(*)::text AS n, coalesce(sum(id), 0)::text AS ids, coalesce(sum(v), 0)::text AS vs,
  md5(string_agg(id::text || ':' || v::text, ',' ORDER BY id)) AS digest FROM it_snapshot`;
const DUCK_DIGEST = `SELECT count(*)::VARCHAR AS n, coalesce(sum(id), 0)::VARCHAR AS ids, coalesce(sum(v), 0)::VARCHAR AS vs,
  md5(string_agg(CAST(id AS VARCHAR) || ':' || CAST(v AS VARCHAR), ',' ORDER BY id)) AS digest FROM read_parquet($files)`;

interface Digest {
  readonly n: string;
  readonly ids: string;
  readonly vs: string;
  readonly digest: string;
}

describe('one snapshot per run', () => {
  let db: pg.Client;
  let storage: S3Client;
  let fleet: WorkerFleet;
  let client: Client;
  let slow: SlowS3Proxy;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_snapshot;
      CREATE TABLE it_snapshot (id bigint PRIMARY KEY, v integer NOT NULL, label text);
      INSERT INTO it_snapshot SELECT g, 0, md5(g::text) FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_snapshot;`);
    storage = s3();
    fleet = await WorkerFleet.connect();
    client = fleet.client;
    // Batches after each partition's first ones are stored slowly: the run lasts long enough for
    // the writer and the kill to land mid-run on any machine.
    slow = await startSlowS3Proxy({ path: /\/_raw\/part=\d+\/batch=\d+\.parquet/, ms: 400, after: 4 });
  });
  after(async () => {
    await fleet?.close();
    await slow?.close();
    await db?.end();
  });

  const worker = (taskQueue: string): Promise<WorkerProcess> =>
    fleet.worker(taskQueue, { AWS_ENDPOINT_URL_S3: slow.url });

  /** Starts an export of TABLE in 4 partitions, 2 at a time, on `taskQueue`. */
  async function start(taskQueue: string, name: string, consistency: 'snapshot' | null) {
    const prefix = uniquePrefix(name);
    const handle = await client.workflow.start('exportTable', {
      taskQueue,
      workflowId: `it-${name}-${randomUUID()}`,
      args: [
        {
          source: { table: TABLE },
          destination: `s3://${bucket()}/${prefix}`,
          runKey: name,
          partitions: { count: 4, maxConcurrent: 2 },
          batch: { rows: 5_000 },
          consistency,
        },
      ],
    });
    return { prefix, handle };
  }

  /** The run's snapshot as its progress query shows it, once it differs from `not`. */
  async function snapshotOf(handle: WorkflowHandle, not?: string): Promise<RunSnapshot> {
    let found: RunSnapshot | null = null;
    await waitFor(
      'the run to hold a snapshot',
      async () => {
        const p = await handle.query<ExportProgress>('progress').catch(() => undefined);
        const s = p?.consistency?.snapshot ?? null;
        if (s && s.id !== not) found = s;
        return found !== null;
      },
      90_000,
    );
    return found!;
  }

  /** The table as of `snapshot`, read in a transaction that imports it (while the run holds it). */
  async function digestIn(snapshot: RunSnapshot): Promise<Digest & { seen: string }> {
    const pinned = await database();
    try {
      await pinned.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await pinned.query(`SET TRANSACTION SNAPSHOT '${snapshot.id}'`);
      const seen = (await pinned.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')).rows[0]!.s;
      const d = (await pinned.query<Digest>(PG_DIGEST)).rows[0]!;
      await pinned.query('COMMIT');
      return { ...d, seen };
    } finally {
      await pinned.end();
    }
  }

  async function manifestOf(prefix: string, runKey: string): Promise<Manifest> {
    const key = `${prefix}/${TABLE}/run=${runKey}/_manifest.json`;
    return JSON.parse(new TextDecoder().decode(await getObject(storage, key))) as Manifest;
  }

  async function outputDigest(prefix: string, manifest: Manifest): Promise<Digest> {
    const paths = await download(
      storage,
      manifest.files.map((f) => `${prefix}/${f.key}`),
    );
    return (await queryParquet(paths, DUCK_DIGEST))[0] as unknown as Digest;
  }

  /** Sessions that hold a snapshot for the run `workflowId`. */
  const holders = async (workflowId: string) =>
    (
      await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [holderApplicationName(workflowId)],
      )
    ).rows[0]!.n;

  /** Inserts, updates and deletes rows until stopped; counts its transactions. */
  function startWriter(): { stop(): Promise<number> } {
    let running = true;
    let commits = 0;
    const loop = (async () => {
      const w = await database();
      // New ids above every id so far (an earlier test's writer inserted some too).
      let next = Number(
        (await w.query<{ n: string }>('SELECT greatest(max(id) + 1, 1000000)::text AS n FROM it_snapshot'))
          .rows[0]!.n,
      );
      try {
        while (running) {
          const base = next;
          next += 5;
          const hit = 1 + Math.floor(Math.random() * ROWS);
          await w.query(`BEGIN;
            INSERT INTO it_snapshot SELECT g, 1, 'new' FROM generate_series(${base}, ${base + 4}) g;
            UPDATE it_snapshot SET v = v + 1 WHERE id BETWEEN ${hit} AND ${hit + 4};
            DELETE FROM it_snapshot WHERE id IN (${hit + 10}, ${hit + 11});
            COMMIT;`);
          commits++;
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await w.end();
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return commits;
      },
    };
  }

  test(
    'rows written during the run: the output is the table as of the run snapshot, which the manifest states',
    { timeout: 240_000 },
    async () => {
      const taskQueue = `snap-${randomUUID()}`;
      await worker(taskQueue);
      const writer = startWriter();
      try {
        const { prefix, handle } = await start(taskQueue, 'snap-live', null);
        const snapshot = await snapshotOf(handle);
        assert.equal(await holders(handle.workflowId), 1, 'the holder is visible in pg_stat_activity');
        const expected = await digestIn(snapshot);
        const result = (await handle.result()) as ExportTableResult;
        const commits = await writer.stop();
        assert.ok(commits > 10, `the writer committed ${commits} transactions during the run`);
        const now = (await db.query<Digest>(PG_DIGEST)).rows[0]!;
        assert.notDeepEqual(now, {
          n: expected.n,
          ids: expected.ids,
          vs: expected.vs,
          digest: expected.digest,
        });

        const manifest = await manifestOf(prefix, result.runKey);
        assert.equal(manifest.consistency.mode, 'snapshot');
        assert.ok(manifest.consistency.mode === 'snapshot');
        assert.equal(manifest.consistency.snapshotId, snapshot.id);
        assert.equal(manifest.consistency.snapshot, expected.seen);
        assert.match(manifest.consistency.lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);
        for (const p of manifest.partitions) assert.equal(p.readIn, expected.seen, `partition ${p.index}`);
        assert.equal(String(result.rows), expected.n);
        const { seen: _, ...want } = expected;
        assert.deepEqual(await outputDigest(prefix, manifest), want);
        await waitFor('the holder to let go', async () => (await holders(handle.workflowId)) === 0, 60_000);
      } finally {
        await writer.stop();
      }
    },
  );

  /** Which worker process ran the run's snapshot activity (from the history's identities). */
  async function holderOf(handle: WorkflowHandle, workers: readonly WorkerProcess[]): Promise<WorkerProcess> {
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = new Set(
      events
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'pgParquetTakeSnapshot')
        .map((e) => String(e.eventId)),
    );
    const identity = events.find(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)),
    )?.activityTaskStartedEventAttributes?.identity;
    const w = workers.find((x) => identity?.startsWith(`${x.child.pid}@`));
    assert.ok(w, `the snapshot was taken by ${identity}`);
    return w;
  }

  for (const consistency of ['snapshot', null] as const) {
    test(
      `the holder's worker SIGKILLed mid-run (consistency ${JSON.stringify(consistency)}): no manifest claims one snapshot over two`,
      { timeout: 300_000 },
      async () => {
        const taskQueue = `snap-${randomUUID()}`;
        const workers = [await worker(taskQueue), await worker(taskQueue)];
        const name = consistency ? 'snap-kill-strict' : 'snap-kill-default';
        // Written to throughout, so that the first and the second snapshot see different rows.
        const writer = startWriter();
        try {
          const { prefix, handle } = await start(taskQueue, name, consistency);
          const first = await snapshotOf(handle);
          await waitFor(
            '2 stored batches',
            async () =>
              slow.requests.filter((r) => r.path.includes(name) && r.path.includes('_raw')).length >= 2,
          );
          await (await holderOf(handle, workers)).kill();
          // Partitions 2 and 3 start after the kill: they cannot import the first snapshot.
          const second = await snapshotOf(handle, first.id);
          const expected = await digestIn(second);
          assert.notEqual(second.point.snapshot, first.point.snapshot, 'the writer committed in between');
          const result = (await handle.result()) as ExportTableResult;
          await writer.stop();
          const manifest = await manifestOf(prefix, result.runKey);
          const readIn = new Set(manifest.partitions.map((p) => p.readIn));
          const got = await outputDigest(prefix, manifest);
          if (consistency === 'snapshot') {
            // Every partition read again in the new snapshot: the output is the table as of it.
            assert.ok(manifest.consistency.mode === 'snapshot', JSON.stringify(manifest.consistency));
            assert.equal(manifest.consistency.snapshotId, second.id);
            assert.deepEqual([...readIn], [second.point.snapshot]);
            const { seen: _, ...want } = expected;
            assert.deepEqual(got, want);
          } else if (readIn.size > 1 || readIn.has(null)) {
            // Finished partitions were kept: the manifest claims no single snapshot.
            assert.deepEqual(manifest.consistency, { mode: 'partition' });
          } else {
            assert.ok(manifest.consistency.mode === 'snapshot');
            assert.deepEqual([...readIn], [manifest.consistency.snapshot]);
          }
          const [ids] = await queryParquet(
            await download(
              storage,
              manifest.files.map((f) => `${prefix}/${f.key}`),
            ),
            'SELECT count(*) = count(DISTINCT id) AS once FROM read_parquet($files)',
          );
          assert.equal(ids!.once, true, 'no id twice');
          assert.equal(String(result.rows), got.n);
          const progress = await handle.query<ExportProgress>('progress');
          assert.ok((progress.consistency?.restarts ?? 0) >= 1, 'the run replaced its snapshot');
        } finally {
          await writer.stop();
        }
      },
    );
  }
});
