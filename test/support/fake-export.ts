/**
 * The real exportTable workflow on the real dev server with test doubles for its activities: for
 * tests of the orchestration alone (windows, hand-overs, history size), at a scale real
 * extractions could not reach in a test run.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { PgParquetActivities } from '../../activities/index.js';
import type { PartitionRange } from '../../src/plan/partitions.js';
import { ITEMS_PER_FETCH } from '../../src/contract/chunks.js';
import { WORKFLOWS_PATH } from '../../src/plugin.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { chainHistories, type HistoryEvent } from './run-chain.js';

/** One event of a fetched history. */

/** A fake export's shape, and what its extraction double does with each partition. */
export interface FakeExport {
  readonly partitions: number;
  /** `partitions.maxConcurrent` of the run. */
  readonly width: number;
  /** Activity slots of the worker. */
  readonly workerSlots: number;
  extract(partition: PartitionRange): Promise<void>;
  /** Runs beside the export until it ends (e.g. reads its `progress` query). */
  watch?(handle: WorkflowHandle): Promise<void>;
  /**
   * Whether the planning double answers with the first ranges, as this version's planning does
   * (default), or without, as a worker before `firstRanges` did (every range then comes from
   * `pgParquetPlanRanges`).
   */
  readonly planGivesRanges?: boolean;
}

/** The doubles' ranges [start, start + count) of a plan of `partitions`. */
function fakeRanges(start: number, count: number, partitions: number): PartitionRange[] {
  const ranges: PartitionRange[] = [];
  for (let i = start; i < Math.min(start + count, partitions); i++) {
    ranges.push({ index: i, lo: String(i * 10), hi: String(i * 10 + 10), includesNulls: i === 0 });
  }
  return ranges;
}

/** What a finished fake export left: its result and the history of each run of its chain. */
export interface FakeExportRun {
  readonly result: ExportTableResult;
  readonly histories: readonly (readonly HistoryEvent[])[];
}

/** Runs one export of `spec.partitions` fake partitions (no compaction) to its end. */
export async function runFakeExport(spec: FakeExport): Promise<FakeExportRun> {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by another test file in this process.
  }
  const fakes: Pick<
    PgParquetActivities,
    | 'pgParquetTakeSnapshot'
    | 'pgParquetPlan'
    | 'pgParquetPlanRanges'
    | 'pgParquetExtractPartition'
    | 'pgParquetFinalize'
  > = {
    // The run reads in one (pretend) snapshot: carried over every continue-as-new of the chain.
    async pgParquetTakeSnapshot() {
      return {
        id: '00000003-0000001B-1',
        point: { snapshot: '100:100:', lsn: '0/1', takenAt: '2026-01-01T00:00:00.000Z', standby: false },
      };
    },
    async pgParquetPlan(input) {
      return {
        reused: false,
        plan: {
          version: 3,
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
          partitionCount: spec.partitions,
          sourceBytes: 0,
          compacted: false,
          warnings: [],
        },
        ...(spec.planGivesRanges === false
          ? {}
          : { firstRanges: fakeRanges(0, ITEMS_PER_FETCH, spec.partitions) }),
      };
    },
    async pgParquetPlanRanges({ start, count }) {
      return { ranges: fakeRanges(start, count, spec.partitions) };
    },
    async pgParquetExtractPartition({ partition }) {
      await spec.extract(partition);
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
        rows: spec.partitions * 10,
        bytes: 0,
        files: spec.partitions,
        partitions: spec.partitions,
        rawDeleted: 0,
        latestRunKey: 'test',
        runsDeleted: [],
        watermark: null,
      };
    },
  };
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const taskQueue = `fake-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: fakes,
    maxConcurrentActivityTaskExecutions: spec.workerSlots,
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  try {
    return await worker.runUntil(async () => {
      const workflowId = `it-fake-${randomUUID()}`;
      const handle = await client.workflow.start('exportTable', {
        taskQueue,
        workflowId,
        args: [
          {
            source: { table: 'public.t' },
            destination: 'file:///tmp/unused',
            runKey: 'fake',
            partitions: { maxConcurrent: spec.width },
            compaction: { enabled: false },
          },
        ],
      });
      const [result] = (await Promise.all([handle.result(), spec.watch?.(handle)])) as [
        ExportTableResult,
        void,
      ];
      const histories = await chainHistories(client, workflowId, handle.firstExecutionRunId);
      return { result, histories };
    });
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}

/** The most extraction activities scheduled and not yet closed at any point of one run's history. */
export function maxPendingExtractions(events: readonly HistoryEvent[]): number {
  const open = new Set<string>();
  let max = 0;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'pgParquetExtractPartition') {
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
