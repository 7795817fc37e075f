/**
 * What the CLI reads about one run: the workflow's `progress` answer, the state of its running
 * partitions (pending activities and their heartbeat details), its result or failure.
 */
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ExportProgress, ExportTableResult } from '../../workflows/export-table.js';
import { queryProgress } from '../client.js';
import { estimatedRowsOf, type LiveProgress } from './progress-view.js';

/** One activity of a run that is scheduled or running now (a partition, a compaction group, …). */
export interface PendingWork {
  /** `extract`, `compact`, `finalize`, `plan`, … (the activity type without its prefix). */
  readonly activity: string;
  /** `scheduled`, `started`, `cancel_requested`, … */
  readonly state: string;
  readonly attempt: number;
  /** The partition it works on, once its first heartbeat says so. */
  readonly partition: number | null;
  /** Rows and bytes it has stored so far (from its last heartbeat). */
  readonly rows: number;
  readonly bytes: number;
  readonly lastCursor: string | null;
  readonly lastHeartbeat: string | null;
  /** The previous attempt's failure message, if it is being retried. */
  readonly lastFailure: string | null;
}

const STATES = ['unspecified', 'scheduled', 'started', 'cancel_requested', 'paused', 'pause_requested'];

/** The pending activities of a described run, with their heartbeat details decoded. */
export function pendingWork(d: WorkflowExecutionDescription): PendingWork[] {
  return (d.raw.pendingActivities ?? []).map((a) => {
    let details: Record<string, unknown> = {};
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (payload) {
      try {
        const v = defaultPayloadConverter.fromPayload<unknown>(payload);
        if (typeof v === 'object' && v !== null) details = v as Record<string, unknown>;
      } catch {
        // Details of another shape (an older worker): show the activity without them.
      }
    }
    const num = (k: string): number => (typeof details[k] === 'number' ? details[k] : 0);
    const type = a.activityType?.name ?? 'unknown';
    return {
      activity: type.replace(/^pgParquet/, '').replace(/^./, (c) => c.toLowerCase()),
      state: STATES[a.state ?? 0] ?? String(a.state),
      attempt: a.attempt ?? 1,
      partition: typeof details.partition === 'number' ? details.partition : null,
      rows: num('rows'),
      bytes: num('bytes'),
      // A keyset cursor's value is an array (one text per key column): shown as its JSON.
      lastCursor:
        typeof details.lastCursor === 'string'
          ? details.lastCursor
          : Array.isArray(details.lastCursor)
            ? JSON.stringify(details.lastCursor)
            : null,
      lastHeartbeat: timestampToIso(a.lastHeartbeatTime),
      lastFailure: a.lastFailure?.message ?? null,
    };
  });
}

function timestampToIso(t: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!t || t.seconds === undefined || t.seconds === null) return null;
  const seconds = Number(t.seconds);
  return Number.isFinite(seconds) && seconds > 0
    ? new Date(seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString()
    : null;
}

/** Resolves to `undefined` after `ms` instead of waiting on (for instance) a query no worker answers. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** One look at a running export: its progress answer plus its running partitions' heartbeats. */
export async function lookAtRun(
  handle: WorkflowHandle,
  timeoutMs = 5_000,
): Promise<LiveProgress | undefined> {
  const [progress, d] = await Promise.all([
    withTimeout(queryProgress(handle), timeoutMs),
    withTimeout(
      handle.describe().catch(() => undefined),
      timeoutMs,
    ),
  ]);
  if (!progress) return undefined;
  return liveProgressOf(progress, d ? pendingWork(d) : []);
}

/**
 * Combines a `progress` answer with the heartbeats of the run's pending activities. Both tell a
 * running partition's stored rows, each as of its last report (the workflow's live numbers at most
 * a second old, heartbeats as Temporal last received them, which is throttled to every ~16 s), so
 * per partition the larger counts. Only the partitions the answer lists as running count: a
 * heartbeat of a partition the answer already counts as finished is not added again. An answer of
 * an earlier version (no `runningPartitions`) counts finished partitions only: all heartbeats add.
 */
export function liveProgressOf(progress: ExportProgress, pending: readonly PendingWork[]): LiveProgress {
  const beats = pending.filter((w) => w.activity === 'extractPartition');
  const estimatedRows = estimatedRowsOf(progress);
  const reported = (progress as Partial<ExportProgress>).runningPartitions;
  if (reported === undefined) {
    return {
      progress,
      finished: { rows: progress.rows, bytes: progress.bytes },
      inflight: { rows: sum(beats, 'rows'), bytes: sum(beats, 'bytes') },
      estimatedRows,
    };
  }
  const beatOf = new Map(beats.map((w) => [w.partition, w]));
  const inflight = reported.map((r) => {
    const beat = beatOf.get(r.partition);
    return { rows: Math.max(r.rows, beat?.rows ?? 0), bytes: Math.max(r.bytes, beat?.bytes ?? 0) };
  });
  return {
    progress,
    finished: { rows: progress.rows - sum(reported, 'rows'), bytes: progress.bytes - sum(reported, 'bytes') },
    inflight: { rows: sum(inflight, 'rows'), bytes: sum(inflight, 'bytes') },
    estimatedRows,
  };
}

function sum<K extends string>(items: readonly Readonly<Record<K, number>>[], key: K): number {
  return items.reduce((s, x) => s + x[key], 0);
}

/**
 * Waits for the result while calling `onLook` about once per `intervalMs`. Rejects with the
 * workflow's failure (its cause carries the typed error).
 */
export function followExport(
  handle: WorkflowHandle,
  onLook: ((live: LiveProgress) => void) | undefined,
  intervalMs = 1000,
): Promise<ExportTableResult> {
  return followRun({ handle, look: () => lookAtRun(handle), onLook, intervalMs });
}

/** What {@link followRun} follows: a run, how to look at it, and what to do with each look. */
export interface FollowedRun {
  readonly handle: WorkflowHandle;
  readonly look: () => Promise<LiveProgress | undefined>;
  /** Absent: no looks at all, only the wait for the result. */
  readonly onLook: ((live: LiveProgress) => void) | undefined;
  readonly intervalMs?: number;
}

/**
 * Waits for a run's result (of type `R`) while calling `onLook` with a fresh `look()` about once
 * per `intervalMs`. Rejects with the workflow's failure (its cause carries the typed error).
 */
export async function followRun<R>(run: FollowedRun): Promise<R> {
  const { handle, look, onLook, intervalMs = 1000 } = run;
  // Nothing shows the looks (`--json`): each would cost a query the workflow answers and a
  // describe, every second, for nothing.
  if (!onLook) return (await handle.result()) as R;
  let settled = false;
  let wake: (() => void) | undefined;
  const result = handle.result() as Promise<R>;
  const poll = (async () => {
    while (!settled) {
      const live = await look().catch(() => undefined);
      if (live && !settled) onLook(live);
      if (settled) break;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, intervalMs);
      });
      clearTimeout(timer);
    }
  })();
  try {
    return await result;
  } finally {
    // The result is in: stop the poll now, not after its next sleep (up to a second per run).
    settled = true;
    wake?.();
    // A look already in flight is not waited for: its answer would only be discarded.
    void poll.catch(() => undefined);
  }
}

/** The progress a finished run would answer, from its result (no worker needed to replay it). */
export function progressOfResult(result: ExportTableResult): ExportProgress {
  return {
    phase: 'done',
    table: result.table,
    runKey: result.runKey,
    partitions: {
      total: result.partitions,
      done: result.partitions,
      running: 0,
      skipped: result.skippedPartitions,
    },
    rows: result.rows,
    bytes: result.bytes,
    runningPartitions: [],
    estimatedRows: null,
    consistency: null,
  };
}
