/**
 * The `exportTable` workflow: validate → plan → extract partitions with a bounded window of
 * concurrent activities → verify and write the manifest. Deterministic: it imports only types
 * and pure helpers; everything with side effects runs in activities.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
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
import type { WatermarkRange } from '../src/contract/incremental.js';
import { ErrorType } from '../src/contract/errors.js';
import {
  resolveExportInput,
  typeOptionsOf,
  type ExportTableInput,
  type ResolvedExportInput,
} from '../src/contract/export-input.js';
import { ITEMS_PER_FETCH, PARTITIONS_PER_CHUNK } from '../src/contract/chunks.js';
import { displayName } from '../src/contract/table-name.js';
import { surfaceCause, validated } from './failures.js';
import { LivePartitions, receivePartitionProgress, type RunningPartition } from './live-progress.js';
import { runKeyFromTime, runKeyFromWorkflowId } from './run-key.js';
import { isSnapshotLost, SnapshotHold, type RunConsistency } from './run-snapshot.js';
import { MAX_SNAPSHOT_RESTARTS } from '../src/contract/snapshot.js';

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
  /** Rows and bytes stored so far: the finished partitions' plus what the running ones report. */
  readonly rows: number;
  readonly bytes: number;
  /**
   * The running partitions with the rows and bytes each has stored so far (counted in `rows` and
   * `bytes`), as its activity reported after a stored batch, at most about once a second; 0 until
   * its first report.
   */
  readonly runningPartitions: readonly RunningPartition[];
  /** Rows the plan expects (PostgreSQL's estimate), or null: for a rows bar and an ETA. */
  readonly estimatedRows: number | null;
  /** What the run reads in: one snapshot (its id and point) or one per partition; null before it is known. */
  readonly consistency: RunConsistency | null;
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
  /** The rows an incremental run exported (`from < column <= to`); null for a full run. */
  readonly watermark: WatermarkRange | null;
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
  /** The plan's row estimate (absent in continuations of earlier versions). */
  readonly estimatedRows?: number | null;
  /** Partitions (or compaction groups) in flight when the previous run continued as new. */
  readonly carried?: readonly PartitionRange[] | readonly number[];
  /** The run's consistency and its snapshot, still held (absent in continuations of earlier versions). */
  readonly consistency?: RunConsistency;
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

/**
 * Every activity below heartbeats: extraction after each batch, the others on a timer as well
 * (activities/heartbeat-pulse.ts), so a dead worker's activity is retried on another after
 * 20 s without a heartbeat, in every phase.
 */
const HEARTBEAT_TIMEOUT = '20s';

const planning = proxyActivities<PgParquetActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: RETRY,
});
const EXTRACTION_OPTIONS = {
  startToCloseTimeout: '24h',
  // A dead worker's partition is retried on another after this long without a heartbeat.
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: RETRY,
  // A cancelled extraction is over only when it has stopped writing: a run that replaces a lost
  // snapshot must not have batches of the old one land after it started again.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
} as const;
const extraction = proxyActivities<PgParquetActivities>(EXTRACTION_OPTIONS);

/**
 * The one-line summary the Temporal UI shows for an activity: which partition (1-based, of how
 * many) and its cursor range, so pending extractions can be told apart.
 */
function partitionSummary(p: PartitionRange, total: number): string {
  // A keyset bound is an array (one text per key column): shown as JSON.
  const text = (v: PartitionRange['lo'], open: string) =>
    v === null ? open : typeof v === 'string' ? v : JSON.stringify(v);
  const lo = text(p.lo, '−∞');
  const hi = text(p.hi, '+∞');
  return `partition ${p.index + 1} of ${total}: cursor [${lo}, ${hi})${p.includesNulls ? ' and NULL' : ''}`;
}

/**
 * Finalizing re-counts footers and, with `verify: "source"`, counts each range at the source. It
 * heartbeats on a timer too: one count(*) over a large range can take minutes, which is why the
 * heartbeat timeout was once 5 minutes (a killed worker then stalled the run that long).
 */
const finalizing = proxyActivities<PgParquetActivities>({
  startToCloseTimeout: '24h',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
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
    estimatedRows: null as number | null,
    consistency: null as RunConsistency | null,
  };
  // progress.rows and .bytes count finished partitions only (continue-as-new carries them over);
  // the query adds the running partitions' live numbers, which nothing else may read.
  const live = new LivePartitions();
  receivePartitionProgress(live);
  setHandler(progressQuery, () => ({
    ...progress,
    partitions: { ...progress.partitions },
    ...live.addTo(progress),
  }));

  const input = validated(resolveExportInput, rawInput);
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
  let consistency: RunConsistency =
    continuation?.consistency ??
    (input.sharedSnapshot
      ? // The parent's snapshot, for every table of an exportTables run: if it is lost, this run
        // fails (no replacement of its own); re-running the parent reads the rest in a new one.
        { mode: 'snapshot', snapshot: input.sharedSnapshot, restarts: MAX_SNAPSHOT_RESTARTS, shared: true }
      : { mode: input.consistency ?? 'snapshot', snapshot: null, restarts: 0 });
  const hold = new SnapshotHold(consistency);
  /** Takes the run's snapshot (mode "snapshot"); falls back to "partition" when allowed and unsupported. */
  const takeSnapshot = async (): Promise<void> => {
    const snapshot = await hold.take({
      connection: input.source.connection,
      owner: info.workflowId,
      required: input.consistency === 'snapshot',
    });
    if (snapshot === null) {
      const warning =
        'the source cannot export a snapshot: each partition reads its own (consistency "partition")';
      log.warn(warning, { table, runKey });
      consistency = { ...consistency, mode: 'partition' };
      progress.consistency = consistency;
      return;
    }
    consistency = { ...consistency, snapshot };
    progress.consistency = consistency;
    log.info('reading in one snapshot', { table, runKey, snapshotId: snapshot.id, ...snapshot.point });
  };
  const lost = (): never => {
    throw ApplicationFailure.create({
      type: ErrorType.SnapshotLost,
      message: consistency.shared
        ? "the exportTables run's shared snapshot was lost; run it again to read the unfinished tables in a new one"
        : `the run's snapshot was lost ${consistency.restarts + 1} times; set consistency: "partition" to read each partition in its own`,
      nonRetryable: true,
    });
  };
  progress.consistency = consistency;
  try {
    let state: ExportContinuation;
    /** The plan's first ranges, from the planning answer: the first fetch needs no activity. */
    let firstRanges: readonly PartitionRange[] | undefined;
    if (continuation) {
      state = continuation;
    } else {
      progress.phase = 'planning';
      let planned: Awaited<ReturnType<typeof planning.pgParquetPlan>> | undefined;
      // Planning reads in the run's snapshot too; one lost before planning read it is replaced.
      while (!planned) {
        if (consistency.mode === 'snapshot' && consistency.snapshot === null) await takeSnapshot();
        planned = await planning
          .pgParquetPlan({
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
            compacted: input.compaction.enabled,
            incremental: input.watermark,
            snapshotId: consistency.snapshot?.id ?? null,
            strictSnapshot: input.consistency === 'snapshot',
          })
          .catch((err: unknown) => {
            if (!isSnapshotLost(err)) throw err;
            if (consistency.restarts >= MAX_SNAPSHOT_RESTARTS) lost();
            consistency = { ...consistency, snapshot: null, restarts: consistency.restarts + 1 };
            return undefined;
          });
      }
      const { plan, reused } = planned;
      firstRanges = planned.firstRanges;
      for (const w of plan.warnings) log.warn(w, { table, runKey });
      if (reused) log.info('reusing the stored plan of this runKey', { table, runKey });
      state = {
        runKey,
        phase: 'extracting',
        next: 0,
        partitionCount: plan.partitionCount,
        groups: 0,
        warnings: plan.warnings,
        estimatedRows: plan.estimatedRows ?? null,
        done: 0,
        skipped: 0,
        rows: 0,
        bytes: 0,
      };
    }
    if (consistency.mode === 'snapshot' && consistency.snapshot === null && state.phase === 'extracting') {
      // A run that continued as new to replace a lost snapshot takes the new one here.
      await takeSnapshot();
    }
    progress.partitions.total = state.partitionCount;
    progress.partitions.done = state.done;
    progress.partitions.skipped = state.skipped;
    progress.rows = state.rows;
    progress.bytes = state.bytes;
    progress.estimatedRows = state.estimatedRows ?? null;
    // Activities this run may still start before it continues as new (bounded history).
    let budget = PARTITIONS_PER_CHUNK;
    // At most half a run's budget in flight, so that a run carrying its predecessor's in-flight
    // items over still starts as many new ones (carried items alone never fill a run).
    const width = Math.min(input.partitions.maxConcurrent, PARTITIONS_PER_CHUNK / 2);
    const carryOn = async (next: ExportContinuation): Promise<never> =>
      continueAsNew<typeof exportTable>(rawInput, {
        ...next,
        done: progress.partitions.done,
        skipped: progress.partitions.skipped,
        rows: progress.rows,
        bytes: progress.bytes,
        consistency,
      });
    /**
     * The snapshot ended before every partition was read in it: the next run of the chain takes
     * a new one and goes over the partitions again. With `consistency: "snapshot"` it reads
     * every one again (none of the old snapshot counts in the new); by default it keeps what is
     * finished, and the manifest then states no single snapshot.
     */
    const restartExtraction = async (): Promise<never> => {
      if (consistency.restarts >= MAX_SNAPSHOT_RESTARTS) lost();
      log.warn('the run lost its snapshot: the partitions are gone over again in a new one', {
        table,
        runKey,
        snapshotId: consistency.snapshot?.id,
      });
      consistency = { mode: 'snapshot', snapshot: null, restarts: consistency.restarts + 1 };
      progress.partitions.done = 0;
      progress.partitions.skipped = 0;
      progress.rows = 0;
      progress.bytes = 0;
      return carryOn({ ...state, phase: 'extracting', next: 0, carried: [] });
    };

    if (state.phase === 'extracting') {
      progress.phase = 'extracting';
      const carried = (state.carried ?? []) as readonly PartitionRange[];
      const carriedIndexes = new Set(carried.map((p) => p.index));
      if (state.next < state.partitionCount || carried.length > 0) {
        // Partitions run in one sliding window across the plan's range chunks and across runs:
        // where this run's history budget ends, it hands its in-flight partitions to the next.
        const end = Math.min(state.partitionCount, state.next + Math.max(0, budget - carried.length));
        const snapshot = consistency.snapshot;
        // Extractions run in one scope: when one finds the snapshot gone, the others are
        // cancelled, and the run waits until each has stopped writing before it starts again.
        const scope = new CancellationScope();
        const inFlight = new Set<Promise<unknown>>();
        let snapshotLost = false;
        const windowRun = scope.run(() =>
          slidingWindow({
            start: state.next,
            end,
            carried,
            width,
            handOver: end < state.partitionCount,
            fetch: async (start, count) => {
              const given = firstRanges;
              firstRanges = undefined;
              // The planning answer's ranges cover the first fetch (an older worker's has none).
              if (start === 0 && given && given.length >= count) return given.slice(0, count);
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
              live.started(partition.index);
              try {
                const call = extraction.pgParquetExtractPartition.executeWithOptions(
                  {
                    ...EXTRACTION_OPTIONS,
                    summary: `${table}: ${partitionSummary(partition, state.partitionCount)}`,
                  },
                  [
                    {
                      connection: input.source.connection,
                      table: input.table,
                      destination: input.destination,
                      runKey,
                      partition,
                      batch: input.batch,
                      transform: input.transform,
                      parquet: input.parquet,
                      intermediate: intermediateRaw(input),
                      snapshot,
                      strictSnapshot: input.consistency === 'snapshot',
                    },
                  ],
                );
                inFlight.add(call);
                const r = await call
                  .finally(() => inFlight.delete(call))
                  .catch((err: unknown) => {
                    if (isSnapshotLost(err) && !snapshotLost) {
                      snapshotLost = true;
                      scope.cancel();
                    }
                    throw err;
                  });
                progress.partitions.done++;
                // A carried partition may have been finished by the attempt it replaces.
                if (r.skipped && !carriedIndexes.has(partition.index)) progress.partitions.skipped++;
                progress.rows += r.rows;
                progress.bytes += r.bytes;
              } finally {
                progress.partitions.running--;
                live.ended(partition.index);
              }
            },
          }),
        );
        const window = await windowRun.catch(async (err: unknown) => {
          if (!snapshotLost) throw err;
          await Promise.allSettled([...inFlight]);
          return restartExtraction();
        });
        budget -= window.started;
        state = { ...state, next: window.next, carried: window.carried };
        if (state.next < state.partitionCount || window.carried.length > 0) await carryOn(state);
      }
      // Every partition is read: only a source check still needs the snapshot.
      if (input.verify !== 'source') {
        hold.release();
        consistency = { ...consistency, released: true };
      }
      if (input.compaction.enabled) {
        progress.phase = 'compacting';
        const { groups } = await planning.pgParquetPlanCompaction({
          ...where,
          targetFileBytes: input.compaction.targetFileBytes,
        });
        state = { ...state, phase: 'compacting', next: 0, groups, carried: [] };
      }
    }

    if (state.phase === 'compacting') {
      progress.phase = 'compacting';
      const carried = (state.carried ?? []) as readonly number[];
      if (state.next < state.groups || carried.length > 0) {
        if (budget <= 0) await carryOn(state);
        const end = Math.min(state.groups, state.next + Math.max(0, budget - carried.length));
        const window = await slidingWindow({
          start: state.next,
          end,
          carried,
          width,
          handOver: end < state.groups,
          fetch: (start, count) => Promise.resolve(Array.from({ length: count }, (_, i) => start + i)),
          run: (group: number) =>
            extraction.pgParquetCompact.executeWithOptions(
              { ...EXTRACTION_OPTIONS, summary: `${table}: data file ${group + 1} of ${state.groups}` },
              [{ ...where, group, parquet: input.parquet, mode: input.compaction.mode }],
            ),
        });
        state = { ...state, next: window.next, carried: window.carried };
        if (state.next < state.groups || window.carried.length > 0) await carryOn(state);
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
      keepRuns: input.retention.keepRuns,
      snapshot: consistency.mode === 'snapshot' ? consistency.snapshot : null,
      strictSnapshot: input.consistency === 'snapshot',
    });
    hold.release();
    progress.consistency = consistency;
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
      watermark: final.watermark ?? null,
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
  /** First and one-past-last index of the items this run may start. */
  readonly start: number;
  readonly end: number;
  /** Items an earlier run had in flight when it continued as new: started first. */
  readonly carried: readonly T[];
  /** Items in flight at most. */
  readonly width: number;
  /**
   * More items remain after `end` (for a later run): then the window does not drain. As soon as a
   * slot has nothing left to start, it hands its in-flight items over (see {@link WindowOutcome}).
   */
  readonly handOver: boolean;
  /** Items [start, start + count) (at least one); asked for ahead of need. */
  fetch(start: number, count: number): Promise<readonly T[]>;
  run(item: T): Promise<unknown>;
}

/** Where a window stopped. */
interface WindowOutcome<T> {
  /** Index of the first item not started. */
  readonly next: number;
  /**
   * Items still in flight at a hand-over. The next run starts them again: every activity is
   * idempotent and resumes from what is stored, and the abandoned attempt stops at its next
   * heartbeat (its run is closed), so no slot waits for the slowest item of a run.
   */
  readonly carried: readonly T[];
  /** Items started by this run (its history budget). */
  readonly started: number;
}

/**
 * Runs `run` over the carried items, then items [start, end), with up to `width` in flight,
 * starting the next item as soon as one finishes: a slow item holds one slot, never the others.
 * Items are fetched a chunk ahead, so chunk edges do not idle a slot either. Deterministic: items
 * start in order, driven only by activity completions.
 */
async function slidingWindow<T>(w: Window<T>): Promise<WindowOutcome<T>> {
  const fetched: T[] = [];
  let fetchedEnd = w.start;
  let fetching: Promise<void> | undefined;
  let next = w.start;
  let carried = 0;
  let started = 0;
  const inFlight = new Map<number, T>();
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
    if (carried < w.carried.length) return w.carried[carried++];
    if (next >= w.end) return undefined;
    const index = next++;
    while (index >= fetchedEnd) await fetchMore();
    // Prefetch the next chunk while this one still has a window's worth of items; its failure
    // surfaces where an item waits for it (`fetching` stays the rejected promise).
    if (fetchedEnd < w.end && fetchedEnd - index <= w.width) fetchMore().catch(() => undefined);
    return fetched[index - w.start];
  };
  let handOver: (() => void) | undefined;
  const handedOver = new Promise<void>((resolve) => (handOver = resolve));
  const lane = async (): Promise<void> => {
    for (;;) {
      const item = await take();
      if (item === undefined) {
        if (w.handOver) handOver?.();
        return;
      }
      const id = started++;
      inFlight.set(id, item);
      await w.run(item);
      inFlight.delete(id);
    }
  };
  const lanes = Math.min(w.width, w.carried.length + w.end - w.start);
  await Promise.race([Promise.all(Array.from({ length: lanes }, lane)), handedOver]);
  return { next, carried: [...inFlight.values()], started };
}
