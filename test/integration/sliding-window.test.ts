/**
 * One slow partition never idles the other slots: not at the edge of a chunk of ranges, and not
 * where a run continues as new (it hands the slow partition, in flight, to the next run). The real
 * exportTable workflow on the real dev server, with test doubles for the activities.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { PgParquetActivities } from '../../activities/index.js';
import type { PartitionRange } from '../../src/plan/partitions.js';
import { WORKFLOWS_PATH } from '../../src/plugin.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { stack } from '../support/fixtures.js';

/** Three runs' worth of partitions (a run starts 1,000). */
const PARTITIONS = 2_500;
const WIDTH = 16;
const SLOW = 10;
/** The slow partition returns only once this many others are done (or after the cap). */
const OTHERS_FIRST = 2_300;
const SLOW_CAP_MS = 120_000;

test(
  'a slow partition holds one slot: the others run on, across chunk edges and runs',
  { timeout: 300_000 },
  async (t) => {
    stack();
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Already installed by another test file in this process.
    }
    const done = new Set<number>();
    let othersDone = 0;
    let releaseSlow: (() => void) | undefined;
    const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
    const slowAttempts: { startedAfter: number; finishedAfter: number }[] = [];
    const fakes: Pick<
      PgParquetActivities,
      'pgParquetPlan' | 'pgParquetPlanRanges' | 'pgParquetExtractPartition' | 'pgParquetFinalize'
    > = {
      async pgParquetPlan(input) {
        return {
          reused: false,
          plan: {
            version: 2,
            table: input.table,
            runKey: input.runKey,
            extractedAt: input.startedAt,
            cursor: 'id',
            cursorPgType: 'bigint',
            cursorKind: 'integer',
            cursorUnique: true,
            where: null,
            columns: [],
            balance: 'minmax',
            partitionCount: PARTITIONS,
            sourceBytes: 0,
            warnings: [],
          },
        };
      },
      async pgParquetPlanRanges({ start, count }) {
        const ranges: PartitionRange[] = [];
        for (let i = start; i < Math.min(start + count, PARTITIONS); i++) {
          ranges.push({ index: i, lo: String(i * 10), hi: String(i * 10 + 10), includesNulls: i === 0 });
        }
        return { ranges };
      },
      async pgParquetExtractPartition({ partition }) {
        if (partition.index === SLOW) {
          const attempt = { startedAfter: othersDone, finishedAfter: -1 };
          slowAttempts.push(attempt);
          await Promise.race([slowReleased, new Promise((r) => setTimeout(r, SLOW_CAP_MS))]);
          attempt.finishedAfter = othersDone;
        } else if (!done.has(partition.index)) {
          othersDone++;
          if (othersDone >= OTHERS_FIRST) releaseSlow?.();
        }
        done.add(partition.index);
        return { partition: partition.index, rows: 1, bytes: 1, files: 1, skipped: false, resumedBatches: 0 };
      },
      async pgParquetFinalize() {
        return {
          manifestUrl: 'test://manifest',
          rows: PARTITIONS,
          bytes: 0,
          files: PARTITIONS,
          partitions: PARTITIONS,
          rawDeleted: 0,
        };
      },
    };
    const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const taskQueue = `window-${randomUUID()}`;
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: fakes,
      maxConcurrentActivityTaskExecutions: 20,
    });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    try {
      await worker.runUntil(async () => {
        const workflowId = `it-window-${randomUUID()}`;
        const handle = await client.workflow.start('exportTable', {
          taskQueue,
          workflowId,
          args: [
            {
              source: { table: 'public.t' },
              destination: 'file:///tmp/unused',
              runKey: 'window',
              partitions: { maxConcurrent: WIDTH },
              compaction: { enabled: false },
            },
          ],
        });
        const result = (await handle.result()) as ExportTableResult;
        assert.equal(result.partitions, PARTITIONS);
      });
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
    t.diagnostic(`slow partition attempts (others done at start → at end): ${JSON.stringify(slowAttempts)}`);
    assert.equal(done.size, PARTITIONS, 'every partition extracted');
    // While the slow partition was in flight, the other slots finished OTHERS_FIRST partitions:
    // beyond the first run's 1,000, so across chunk edges and two hand-overs. With a window that
    // drained at a run's end, the others would have stopped near 1,000 until the cap released it.
    const last = slowAttempts.at(-1);
    assert.ok(last && last.finishedAfter >= OTHERS_FIRST, JSON.stringify(slowAttempts));
    assert.ok(slowAttempts.length >= 2, 'the slow partition was handed over to a later run');
  },
);
