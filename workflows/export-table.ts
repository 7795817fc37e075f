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
import type { PartitionRange } from '../src/plan/partitions.js';
import { ErrorType, InputError, PgParquetError } from '../src/contract/errors.js';
import {
  resolveExportInput,
  typeOptionsOf,
  type ExportTableInput,
  type ResolvedExportInput,
} from '../src/contract/export-input.js';
import { ITEMS_PER_FETCH, PARTITIONS_PER_CHUNK } from '../src/contract/chunks.js';
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
        intermediateRaw: intermediateRaw(input),
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
      if (state.next < state.partitionCount) {
        // Partitions run in one sliding window across the plan's range chunks; the window drains
        // only where this run's history budget ends and it continues as new.
        const next = await slidingWindow({
          start: state.next,
          end: Math.min(state.partitionCount, state.next + budget),
          width: input.partitions.maxConcurrent,
          fetch: async (start, count) => {
            const { ranges } = await planning.pgParquetPlanRanges({ ...where, start, count });
            if (ranges.length === 0) {
              throw ApplicationFailure.nonRetryable(
                `partition ${start} is missing from the stored plan`,
                ErrorType.PlanMismatch,
              );
            }
            return ranges;
          },
          run: async (partition: PartitionRange) => {
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
                intermediate: intermediateRaw(input),
              });
              progress.partitions.done++;
              if (r.skipped) progress.partitions.skipped++;
              progress.rows += r.rows;
              progress.bytes += r.bytes;
            } finally {
              progress.partitions.running--;
            }
          },
        });
        budget -= next - state.next;
        state = { ...state, next };
        if (state.next < state.partitionCount) await carryOn(state);
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
      if (state.next < state.groups) {
        if (budget <= 0) await carryOn(state);
        const next = await slidingWindow({
          start: state.next,
          end: Math.min(state.groups, state.next + budget),
          width: input.partitions.maxConcurrent,
          fetch: (start, count) => Promise.resolve(Array.from({ length: count }, (_, i) => start + i)),
          run: (group: number) =>
            extraction.pgParquetCompact({
              ...where,
              group,
              parquet: input.parquet,
              mode: input.compaction.mode,
            }),
        });
        state = { ...state, next };
        if (state.next < state.groups) await carryOn(state);
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

/**
 * Raw files that only a rewriting compaction reads (and then deletes) may use the faster, less
 * portable page format; concatenation keeps their pages, so then they are written as data files.
 */
function intermediateRaw(input: ResolvedExportInput): boolean {
  return input.compaction.enabled && !input.compaction.keepRaw && input.compaction.mode === 'rewrite';
}

/** What {@link slidingWindow} works through. */
interface Window<T> {
  /** First and one-past-last item index of this run's share. */
  readonly start: number;
  readonly end: number;
  /** Items in flight at most. */
  readonly width: number;
  /** Items [start, start + count) (at least one); asked for a chunk ahead of need. */
  fetch(start: number, count: number): Promise<readonly T[]>;
  run(item: T): Promise<unknown>;
}

/**
 * Runs `run` over items [start, end) with up to `width` in flight, starting the next item as soon
 * as one finishes: a slow item holds one slot, never the others, and the next chunk of items is
 * fetched while the current one still has `width` items left, so chunk edges do not idle a slot.
 * Deterministic: items start in index order, driven only by activity completions. Resolves with
 * `end` once every started item is done.
 */
async function slidingWindow<T>(w: Window<T>): Promise<number> {
  const fetched: T[] = [];
  let fetchedEnd = w.start;
  let fetching: Promise<void> | undefined;
  let next = w.start;
  const fetchMore = (): Promise<void> => {
    fetching ??= (async () => {
      const items = await w.fetch(fetchedEnd, Math.min(ITEMS_PER_FETCH, w.end - fetchedEnd));
      fetched.push(...items);
      fetchedEnd += items.length;
      fetching = undefined;
    })();
    return fetching;
  };
  const take = async (): Promise<T | undefined> => {
    if (next >= w.end) return undefined;
    const index = next++;
    while (index >= fetchedEnd) await fetchMore();
    // Prefetch the next chunk while this one still has a window's worth of items.
    // Its failure surfaces where an item waits for it (`fetching` stays the rejected promise).
    if (fetchedEnd < w.end && fetchedEnd - index <= w.width) fetchMore().catch(() => undefined);
    return fetched[index - w.start];
  };
  const lane = async (): Promise<void> => {
    for (let item = await take(); item !== undefined; item = await take()) await w.run(item);
  };
  await Promise.all(Array.from({ length: Math.min(w.width, w.end - w.start) }, lane));
  return w.end;
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
