/**
 * History stays bounded: 20,000 tiny partitions run through the real exportTable workflow on the
 * real dev server, with lightweight test doubles for the activities (the orchestration is under
 * test here). Every run of the chain stays under Temporal's 10,240-event warning, holds at most
 * `maxConcurrent` extractions pending, and every partition is extracted; a partition is started
 * twice only when a run hands it, in flight, to the next (at most `maxConcurrent` per hand-over).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { PgParquetActivities } from '../../activities/index.js';
import type { PartitionRange } from '../../src/plan/partitions.js';
import { WORKFLOWS_PATH } from '../../src/plugin.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { stack } from '../support/fixtures.js';

/** 20,000 in `npm test` (~3 min); `PG_PARQUET_TEST_PARTITIONS=100000` for the full-scale run. */
/** One event of a fetched history. */
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

const PARTITIONS = Number(process.env.PG_PARQUET_TEST_PARTITIONS ?? 20_000);
const WIDTH = 200;
const HISTORY_WARNING = 10_240;

test(
  `${PARTITIONS} partitions: bounded history per run, each partition once`,
  { timeout: 600_000 },
  async (t) => {
    stack();
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Already installed by another test file in this process.
    }
    const extracted = new Map<number, number>();
    let handOvers = 0;
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
        extracted.set(partition.index, (extracted.get(partition.index) ?? 0) + 1);
        return {
          partition: partition.index,
          rows: 10,
          bytes: 100,
          files: 1,
          skipped: false,
          resumedBatches: 0,
        };
      },
      async pgParquetFinalize() {
        return {
          manifestUrl: 'test://manifest',
          rows: PARTITIONS * 10,
          bytes: 0,
          files: PARTITIONS,
          partitions: PARTITIONS,
          rawDeleted: 0,
        };
      },
    };
    const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const taskQueue = `history-${randomUUID()}`;
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: fakes,
      maxConcurrentActivityTaskExecutions: 200,
    });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    try {
      await worker.runUntil(async () => {
        const workflowId = `it-history-${randomUUID()}`;
        const handle = await client.workflow.start('exportTable', {
          taskQueue,
          workflowId,
          args: [
            {
              source: { table: 'public.t' },
              destination: 'file:///tmp/unused',
              runKey: 'history',
              partitions: { maxConcurrent: WIDTH },
              compaction: { enabled: false },
            },
          ],
        });
        const result = (await handle.result()) as ExportTableResult;
        assert.equal(result.partitions, PARTITIONS);

        // Walk the chain of runs from the first one; each history must stay small.
        let runId: string | undefined = handle.firstExecutionRunId;
        const sizes: number[] = [];
        const pending: number[] = [];
        while (runId) {
          const run: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
          const events: HistoryEvent[] = (await run.fetchHistory()).events ?? [];
          sizes.push(events.length);
          pending.push(maxPendingExtractions(events));
          runId =
            events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
        }
        t.diagnostic(
          `${sizes.length} runs, history events per run: max ${Math.max(...sizes)}, first ${sizes[0]}`,
        );
        assert.ok(sizes.length >= PARTITIONS / 1000, `${sizes.length} runs`);
        assert.ok(Math.max(...sizes) < HISTORY_WARNING, `largest history: ${Math.max(...sizes)} events`);
        assert.ok(
          Math.max(...pending) <= WIDTH,
          `most extractions pending in a run: ${Math.max(...pending)}`,
        );
        handOvers = sizes.length - 1;
      });
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
    assert.equal(extracted.size, PARTITIONS, 'every partition extracted');
    const twice = [...extracted.values()].filter((n) => n > 1).length;
    t.diagnostic(`${twice} partitions started again after a hand-over (${handOvers} hand-overs)`);
    assert.ok(
      [...extracted.values()].every((n) => n <= 2) && twice <= WIDTH * handOvers,
      `${twice} partitions extracted twice over ${handOvers} hand-overs`,
    );
  },
);

/** The most extraction activities scheduled and not yet closed at any point of one run's history. */
function maxPendingExtractions(events: readonly HistoryEvent[]): number {
  const open = new Set<string>();
  let max = 0;
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'pgParquetExtractPartition') {
      open.add(String(e.eventId));
      max = Math.max(max, open.size);
    }
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (closed?.scheduledEventId != null) open.delete(String(closed.scheduledEventId));
  }
  return max;
}
