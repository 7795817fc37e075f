/**
 * Progress that moves during a partition: a worker process exports a table in ONE partition of
 * many small batches, stored slowly through a proxy so that "mid-partition" holds on any machine.
 * The `progress` query shows rows growing before the partition finishes, never counts a row twice,
 * and the reports that move it leave the workflow history as long as with 3 batches as with 30;
 * the CLI's `--wait` lines move with it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ExportProgress, ExportTableResult } from '../../workflows/export-table.js';
import { startSlowS3Proxy, type SlowS3Proxy } from '../support/faulty-s3-proxy.js';
import { waitFor, WorkerFleet } from '../support/worker-process.js';
import { bucket, database, stack, uniquePrefix } from '../support/fixtures.js';

const TABLE = 'it_progress_rows';
const ROWS = 60_000;
/** 30 batches in the one partition; each stored in ≥ 0.3 s after the first two (≈ 9 s in all). */
const SMALL_BATCH = 2_000;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('live progress during a partition', () => {
  let db: pg.Client;
  let fleet: WorkerFleet;
  let client: Client;
  let slow: SlowS3Proxy;
  const taskQueue = `it-progress-${randomUUID()}`;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS ${TABLE};
      CREATE TABLE ${TABLE} (id bigint PRIMARY KEY, label text);
      INSERT INTO ${TABLE} SELECT g, 'label ' || md5(g::text) FROM generate_series(1, ${ROWS}) g;
      ANALYZE ${TABLE};`);
    // Every batch PUT after the first two waits 0.3 s: the partition lasts seconds on any machine.
    // Batches are raw files (`_raw/part=0/batch=1.parquet`) or, without compaction, the data files
    // (`part-00000-000001.parquet`).
    slow = await startSlowS3Proxy({ path: /\/(?:batch=\d+|part-\d+-\d+)\.parquet/, ms: 300, after: 2 });
    fleet = await WorkerFleet.connect();
    client = fleet.client;
    await fleet.worker(taskQueue, { AWS_ENDPOINT_URL_S3: slow.url });
  });
  after(async () => {
    await fleet?.close();
    await slow?.close();
    await db?.end();
  });

  const start = (batchRows: number, queue = taskQueue) =>
    client.workflow.start('exportTable', {
      taskQueue: queue,
      workflowId: `it-progress-${randomUUID()}`,
      args: [
        {
          source: { table: `public.${TABLE}` },
          destination: `s3://${bucket()}/${uniquePrefix('progress')}`,
          runKey: 'progress-1',
          partitions: { count: 1 },
          batch: { rows: batchRows },
          compaction: { enabled: false },
        },
      ],
    });

  /** Reads the query every 100 ms until the run ends; every answer, in order. */
  async function sampleUntilDone(handle: WorkflowHandle): Promise<{
    result: ExportTableResult;
    samples: ExportProgress[];
  }> {
    const samples: ExportProgress[] = [];
    let done = false;
    const result = (handle.result() as Promise<ExportTableResult>).finally(() => (done = true));
    while (!done) {
      const p = await handle.query<ExportProgress>('progress').catch(() => undefined);
      if (p && !done) samples.push(p);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { result: await result, samples };
  }

  const historyOf = async (handle: WorkflowHandle) => (await handle.fetchHistory()).events ?? [];

  test(
    'the query read mid-partition shows rows > 0 and growing before the partition finishes; no row counted twice; history does not grow with batches',
    { timeout: 180_000 },
    async (t) => {
      const many = await start(SMALL_BATCH);
      const { result, samples } = await sampleUntilDone(many);
      assert.equal(result.rows, ROWS);

      const mid = samples.filter((s) => s.phase === 'extracting' && s.partitions.done === 0);
      const moving = mid.map((s) => s.rows).filter((r) => r > 0);
      t.diagnostic(`${mid.length} answers mid-partition, rows seen: ${[...new Set(moving)].join(', ')}`);
      assert.ok(moving.length > 0, 'rows > 0 before the first partition finished');
      // Several distinct values: reports after stored batches, not one heartbeat.
      assert.ok(new Set(moving).size >= 3, `rows moved: ${[...new Set(moving)].join(', ')}`);
      for (const [i, s] of mid.entries()) {
        assert.ok(s.rows >= (mid[i - 1]?.rows ?? 0), 'rows never go back within one worker');
        // Its stored batches only: at most every row, which it shows once its last batch is stored
        // and its activity is still finishing (the marker), never more.
        assert.ok(s.rows <= ROWS, 'a running partition counts its stored batches only');
        // Before its activity starts the partition is not listed; then it is, with its live rows.
        assert.deepEqual(
          s.runningPartitions.map((p) => p.partition),
          s.partitions.running === 1 ? [0] : [],
        );
        assert.equal(s.rows, s.runningPartitions[0]?.rows ?? 0, 'nothing finished yet: all rows are live');
        assert.equal(s.estimatedRows !== null && s.estimatedRows > 0, true, 'the plan estimates rows');
      }
      // Once the partition is done its result replaces its live numbers: never added to them.
      for (const s of samples.filter((x) => x.partitions.done === 1)) {
        assert.equal(s.rows, ROWS, `rows in phase ${s.phase}`);
        assert.deepEqual(s.runningPartitions, []);
      }
      // The query of the finished run (replayed from its history) agrees with the result.
      const final = await many.query<ExportProgress>('progress');
      assert.equal(final.phase, 'done');
      assert.equal(final.rows, ROWS);
      assert.equal(final.bytes, result.bytes);

      // The same export in 3 batches: its history is as long (the reports of 30 batches wrote
      // nothing; a report's speculative workflow task that the activity's completion overtakes
      // may be written, ≤ 3 events).
      const few = await start(ROWS / 3);
      const fewResult = (await few.result()) as ExportTableResult;
      assert.equal(fewResult.rows, ROWS);
      const [manyEvents, fewEvents] = [await historyOf(many), await historyOf(few)];
      const types = (events: typeof manyEvents) =>
        events.reduce<Record<string, number>>((m, e) => {
          const k = String(e.eventType);
          m[k] = (m[k] ?? 0) + 1;
          return m;
        }, {});
      t.diagnostic(
        `history events: ${manyEvents.length} with 30 batches, ${fewEvents.length} with 3; ` +
          JSON.stringify(types(manyEvents)),
      );
      assert.ok(
        manyEvents.length <= fewEvents.length + 3,
        `${manyEvents.length} events with 30 batches, ${fewEvents.length} with 3`,
      );
      assert.ok(
        !manyEvents.some(
          (e) =>
            e.workflowExecutionUpdateAcceptedEventAttributes ??
            e.workflowExecutionUpdateCompletedEventAttributes ??
            e.workflowExecutionSignaledEventAttributes,
        ),
        'no Update or signal event',
      );
    },
  );

  test(
    'a retry on another worker reports the batches it resumed at once; the result still counts each row once',
    { timeout: 240_000 },
    async (t) => {
      const queue = `it-progress-retry-${randomUUID()}`;
      const first = await fleet.worker(queue, { AWS_ENDPOINT_URL_S3: slow.url });
      const handle = await start(SMALL_BATCH, queue);
      const query = () => handle.query<ExportProgress>('progress').catch(() => undefined);
      let before = 0;
      await waitFor('10 batches stored', async () => {
        before = (await query())?.rows ?? 0;
        return before >= 10 * SMALL_BATCH;
      });
      await first.kill();
      await fleet.worker(queue, { AWS_ENDPOINT_URL_S3: slow.url });
      // The new worker replays the run (live numbers empty), the partition's attempt 2 starts once
      // the first one's heartbeat timeout (20 s) has passed, and reports the stored batches.
      let resumed: ExportProgress | undefined;
      await waitFor(
        'the retry to report',
        async () => {
          const p = await query();
          if (p && p.runningPartitions.some((r) => r.rows > 0)) resumed = p;
          return resumed !== undefined || p?.partitions.done === 1;
        },
        120_000,
      );
      t.diagnostic(`${before} rows before the kill; the retry's first report: ${resumed?.rows}`);
      assert.ok(resumed, 'the retry reported before the partition finished');
      assert.ok(resumed.rows >= before, `${resumed.rows} rows: the resumed batches included`);
      assert.ok(resumed.rows < ROWS);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      assert.equal((await handle.query<ExportProgress>('progress')).rows, ROWS);
    },
  );

  test("the CLI's --wait lines move during the partition", { timeout: 180_000 }, async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'export',
        `public.${TABLE}`,
        '--to',
        `s3://${bucket()}/${uniquePrefix('progress-cli')}`,
        '--run-key',
        `progress-cli-${randomUUID().slice(0, 8)}`,
        '--partitions',
        '1',
        '--batch-rows',
        String(SMALL_BATCH),
        '--wait',
        '--progress-interval',
        '0.5',
      ],
      { env: { ...process.env, PG_PARQUET_TASK_QUEUE: taskQueue, NODE_NO_WARNINGS: '1' } },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, stderr);
    const lines = stderr
      .split('\n')
      .map((l) => /\bprogress ((?:\w+=\S+ ?)+)$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined)
      .map((l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('=') as [string, string])));
    const mid = lines.filter((l) => l.phase === 'extracting' && l.partitions === '0/1');
    const rows = [...new Set(mid.map((l) => Number(l.rows)).filter((r) => r > 0))];
    // Heartbeats reach Temporal at most every ~16 s: three values in a ~9 s partition come from
    // the workflow's live numbers.
    assert.ok(rows.length >= 3, `rows while the partition ran: ${rows.join(', ')}\n${stderr}`);
    assert.deepEqual(
      rows,
      [...rows].sort((a, b) => a - b),
    );
    assert.ok(
      mid.some((l) => l.rows_estimated !== undefined && l.eta_s !== '-'),
      `an ETA from the plan's estimate during the partition:\n${stderr}`,
    );
  });
});
