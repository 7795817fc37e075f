/**
 * The `exportTable` workflow: validate → plan → extract partitions with a bounded window of
 * concurrent activities → verify and write the manifest. Deterministic: it imports only types
 * and pure helpers; everything with side effects runs in activities.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { PgParquetActivities } from '../activities/index.js';
import { ErrorType, InputError, PgParquetError } from '../src/contract/errors.js';
import {
  resolveExportInput,
  typeOptionsOf,
  type ExportTableInput,
  type ResolvedExportInput,
} from '../src/contract/export-input.js';
import { PARTITIONS_PER_CHUNK } from '../src/contract/chunks.js';
import { displayName } from '../src/contract/table-name.js';
import { runKeyFromTime, runKeyFromWorkflowId } from './run-key.js';

export type { ExportTableInput } from '../src/contract/export-input.js';

/** Phases of a run, in order. */
export type ExportPhase =
  | 'validating'
  | 'planning'
  | 'extracting'
  | 'compacting'
  | 'finalizing'
  | 'done'
  | 'failed';

/** Answer of the `progress` query. */
export interface ExportProgress {
  readonly phase: ExportPhase;
  readonly table: string | null;
  readonly runKey: string | null;
  readonly partitions: {
    readonly total: number;
    readonly done: number;
    readonly running: number;
    readonly skipped: number;
  };
  readonly rows: number;
  readonly bytes: number;
}

/** What a finished run returns. */
export interface ExportTableResult {
  readonly table: string;
  readonly runKey: string;
  readonly destination: string;
  readonly manifestUrl: string;
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly partitions: number;
  /** Partitions found complete from an earlier run of the same runKey. */
  readonly skippedPartitions: number;
  readonly warnings: readonly string[];
}

/**
 * Where a run that continued as new picks up (second workflow argument, set only by the workflow
 * itself): the phase, the next partition or compaction group, and the totals so far.
 */
interface ExportContinuation {
  readonly runKey: string;
  readonly phase: 'extracting' | 'compacting';
  readonly next: number;
  readonly partitionCount: number;
  readonly groups: number;
  readonly warnings: readonly string[];
  readonly done: number;
  readonly skipped: number;
  readonly rows: number;
  readonly bytes: number;
}

/** Query handler name for live progress. */
export const progressQuery = defineQuery<ExportProgress>('progress');

/** Timeouts and retries of the activities. Terminal errors are non-retryable ApplicationFailures. */
const RETRY = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 10,
} as const;

const planning = proxyActivities<PgParquetActivities>({
  startToCloseTimeout: '10m',
  retry: RETRY,
});
const extraction = proxyActivities<PgParquetActivities>({
  startToCloseTimeout: '24h',
  // A dead worker's partition is retried on another after this long without a heartbeat.
  heartbeatTimeout: '20s',
  retry: RETRY,
});

/** Finalizing re-counts footers and, with `verify: "source"`, counts each range at the source. */
const finalizing = proxyActivities<PgParquetActivities>({
  startToCloseTimeout: '24h',
  heartbeatTimeout: '5m',
  retry: RETRY,
});

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Exports one table. See the README for the input; every field but source.table and destination is optional. */
export async function exportTable(
  rawInput: ExportTableInput,
  continuation?: ExportContinuation,
): Promise<ExportTableResult> {
  const progress = {
    phase: 'validating' as ExportPhase,
    table: null as string | null,
    runKey: null as string | null,
    partitions: { total: 0, done: 0, running: 0, skipped: 0 },
    rows: 0,
    bytes: 0,
  };
  setHandler(progressQuery, () => ({ ...progress, partitions: { ...progress.partitions } }));

  const input = validate(rawInput);
  const info = workflowInfo();
  const runKey =
    continuation?.runKey ??
    input.runKey ??
    runKeyFromWorkflowId(info.workflowId) ??
    runKeyFromTime(info.typedSearchAttributes.get(SCHEDULED_START) ?? info.startTime);
  const table = displayName(input.table);
  progress.table = table;
  progress.runKey = runKey;

  const where = { table: input.table, destination: input.destination, runKey };
  try {
    let state: ExportContinuation;
    if (continuation) {
      state = continuation;
    } else {
      progress.phase = 'planning';
      const { plan, reused } = await planning.pgParquetPlan({
        connection: input.source.connection,
        table: input.table,
        cursor: input.cursorColumn,
        columns: input.columnNames,
        where: input.source.where,
        destination: input.destination,
        runKey,
        startedAt: info.startTime.toISOString(),
        partitions: input.partitions,
        timestampUnit: input.transform.timestampUnit,
        types: typeOptionsOf(input.transform),
      });
      for (const w of plan.warnings) log.warn(w, { table, runKey });
      if (reused) log.info('reusing the stored plan of this runKey', { table, runKey });
      state = {
        runKey,
        phase: 'extracting',
        next: 0,
        partitionCount: plan.partitionCount,
        groups: 0,
        warnings: plan.warnings,
        done: 0,
        skipped: 0,
        rows: 0,
        bytes: 0,
      };
    }
    progress.partitions.total = state.partitionCount;
    progress.partitions.done = state.done;
    progress.partitions.skipped = state.skipped;
    progress.rows = state.rows;
    progress.bytes = state.bytes;
    // Activities this run may still start before it continues as new (bounded history).
    let budget = PARTITIONS_PER_CHUNK;
    const carryOn = async (next: ExportContinuation): Promise<never> =>
      continueAsNew<typeof exportTable>(rawInput, {
        ...next,
        done: progress.partitions.done,
        skipped: progress.partitions.skipped,
        rows: progress.rows,
        bytes: progress.bytes,
      });

    if (state.phase === 'extracting') {
      progress.phase = 'extracting';
      while (state.next < state.partitionCount) {
        if (budget <= 0) await carryOn(state);
        const { ranges } = await planning.pgParquetPlanRanges({
          ...where,
          start: state.next,
          count: Math.min(PARTITIONS_PER_CHUNK, budget),
        });
        if (ranges.length === 0) {
          throw ApplicationFailure.nonRetryable(
            `partition ${state.next} is missing from the stored plan`,
            ErrorType.PlanMismatch,
          );
        }
        await inWindow(ranges, input.partitions.maxConcurrent, async (partition) => {
          progress.partitions.running++;
          try {
            const r = await extraction.pgParquetExtractPartition({
              connection: input.source.connection,
              table: input.table,
              destination: input.destination,
              runKey,
              partition,
              batch: input.batch,
              transform: input.transform,
              parquet: input.parquet,
              // Raw files only compaction reads may use the faster, less portable page format.
              intermediate: input.compaction.enabled && !input.compaction.keepRaw,
            });
            progress.partitions.done++;
            if (r.skipped) progress.partitions.skipped++;
            progress.rows += r.rows;
            progress.bytes += r.bytes;
          } finally {
            progress.partitions.running--;
          }
        });
        state = { ...state, next: state.next + ranges.length };
        budget -= ranges.length;
      }
      if (input.compaction.enabled) {
        progress.phase = 'compacting';
        const { groups } = await planning.pgParquetPlanCompaction({
          ...where,
          targetFileBytes: input.compaction.targetFileBytes,
        });
        state = { ...state, phase: 'compacting', next: 0, groups };
      }
    }

    if (state.phase === 'compacting') {
      progress.phase = 'compacting';
      while (state.next < state.groups) {
        if (budget <= 0) await carryOn(state);
        const count = Math.min(PARTITIONS_PER_CHUNK, budget, state.groups - state.next);
        const indexes = Array.from({ length: count }, (_, i) => state.next + i);
        await inWindow(indexes, input.partitions.maxConcurrent, (group) =>
          extraction.pgParquetCompact({ ...where, group, parquet: input.parquet }),
        );
        state = { ...state, next: state.next + count };
        budget -= count;
      }
    }

    progress.phase = 'finalizing';
    const final = await finalizing.pgParquetFinalize({
      ...where,
      transform: input.transform,
      compression: input.parquet.compression,
      compacted: input.compaction.enabled,
      keepRaw: input.compaction.keepRaw,
      verifySourceConnection: input.verify === 'source' ? input.source.connection : null,
    });
    progress.phase = 'done';
    return {
      table,
      runKey,
      destination: input.destination,
      manifestUrl: final.manifestUrl,
      rows: final.rows,
      bytes: final.bytes,
      files: final.files,
      partitions: final.partitions,
      skippedPartitions: progress.partitions.skipped,
      warnings: state.warnings,
    };
  } catch (err) {
    progress.phase = 'failed';
    throw surfaceCause(err);
  }
}

/** Runs `fn` over `items` with at most `width` in flight (deterministic: lanes take items in order). */
async function inWindow<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

function validate(raw: ExportTableInput): ResolvedExportInput {
  try {
    return resolveExportInput(raw);
  } catch (err) {
    if (err instanceof InputError || err instanceof PgParquetError) {
      throw ApplicationFailure.create({
        type: err.type,
        message: err.message,
        nonRetryable: true,
        details: [err.details],
      });
    }
    throw err;
  }
}

/**
 * Fails the workflow with the activity's own failure type and message, so that the UI, the CLI
 * and callers see `PgParquetTableNotFound: …` rather than a generic "activity failed".
 */
function surfaceCause(err: unknown): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const cause = err.cause;
    return ApplicationFailure.create({
      type: cause.type ?? 'PgParquetActivityFailed',
      message: cause.message,
      nonRetryable: true,
      details: cause.details ? [...cause.details] : [],
      cause: err,
    });
  }
  return err;
}
