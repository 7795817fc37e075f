/**
 * Live progress of the running partitions, for the `progress` query only.
 *
 * A workflow cannot read its activities' heartbeats, so extraction activities also report their
 * rows and bytes (after stored batches; per worker process one Update for all its partitions of
 * the run, at most about once a second) as a Workflow Update that the validator records here and
 * then **rejects**. Why an Update that is always rejected:
 * - a rejected Update writes nothing to the history: the request travels as a message, not an
 *   event, and a workflow task that carries only rejected Updates (and no commands) is speculative
 *   and dropped by the server (Temporal's docs/architecture/workflow-update.md and
 *   speculative-workflow-task.md; the features suite's `update/non_durable_reject`), and rejections
 *   do not count towards `history.maxTotalUpdates`. A signal per batch would write at least one
 *   event plus a workflow task (three more) per batch and break the bounded-history budget of
 *   `PARTITIONS_PER_CHUNK` activities per run; throttled signals would still grow with the
 *   partition's length.
 * - the only events it can cost are bounded by other events, never by batches: a speculative task
 *   that an activity completion overtakes is written as a normal one (≤ 3 events per completion),
 *   and servers before the fix of temporalio/temporal#7741 fail one such task after a worker cache
 *   eviction (a few events per eviction). Measured: 29 events for one partition of 30 batches as
 *   of 3; 1,200 reporting partitions no longer than without reports (test/integration/live-*).
 *
 * Determinism: rejected Updates are never replayed, so what is recorded here differs between the
 * original execution and a replay. That is why nothing but the query reads it: the workflow's
 * decisions (and `progress.rows`, which continue-as-new carries over) use activity results only.
 * After a replay (a worker restart, a cache eviction) the live numbers start empty and fill again
 * with the next reports.
 */
import { defineUpdate, setHandler } from '@temporalio/workflow';
import {
  PARTITION_PROGRESS_UPDATE,
  type PartitionProgressReport,
} from '../src/contract/partition-progress.js';

/** A running partition and what it has stored so far, as its activity last reported. */
export interface RunningPartition {
  readonly partition: number;
  readonly rows: number;
  readonly bytes: number;
}

/** Last report per running partition (attempt 0: no report yet). */
interface Reported {
  readonly attempt: number;
  readonly rows: number;
  readonly bytes: number;
}

const NOTHING_YET: Reported = { attempt: 0, rows: 0, bytes: 0 };

/**
 * The running partitions of this workflow run and their last reported rows and bytes. A report
 * counts only while its partition runs here: once the partition's activity has returned, its
 * result replaces its live numbers (never added to them), and a late report cannot bring them back.
 */
export class LivePartitions {
  private readonly running = new Map<number, Reported>();

  /** The workflow starts the partition's activity. */
  started(partition: number): void {
    this.running.set(partition, NOTHING_YET);
  }

  /** The partition's activity returned or failed: its result (if any) now counts instead. */
  ended(partition: number): void {
    this.running.delete(partition);
  }

  /**
   * Records a report. Ignored for a partition not running in this run, from an attempt older than
   * the last one reported (a retry resumes with the rows of earlier attempts included, so the
   * latest attempt's numbers are the whole partition's), or when it shows fewer rows than an
   * earlier report of the same attempt (reports may overtake each other). True when recorded.
   */
  record(report: PartitionProgressReport): boolean {
    if (!isReport(report)) return false;
    const last = this.running.get(report.partition);
    if (last === undefined) return false;
    if (report.attempt < last.attempt || (report.attempt === last.attempt && report.rows < last.rows)) {
      return false;
    }
    this.running.set(report.partition, { attempt: report.attempt, rows: report.rows, bytes: report.bytes });
    return true;
  }

  /** The running partitions in partition order, with their last reported rows and bytes. */
  list(): RunningPartition[] {
    return [...this.running]
      .map(([partition, r]) => ({ partition, rows: r.rows, bytes: r.bytes }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Rows and bytes of the finished partitions plus what the running ones have stored so far. */
  addTo(finished: { readonly rows: number; readonly bytes: number }): {
    rows: number;
    bytes: number;
    runningPartitions: RunningPartition[];
  } {
    const runningPartitions = this.list();
    let { rows, bytes } = finished;
    for (const p of runningPartitions) {
      rows += p.rows;
      bytes += p.bytes;
    }
    return { rows, bytes, runningPartitions };
  }
}

/** A report comes from outside the workflow: an object of whole, non-negative numbers only. */
function isReport(r: unknown): r is PartitionProgressReport {
  if (typeof r !== 'object' || r === null) return false;
  const { partition, attempt, rows, bytes } = r as Record<string, unknown>;
  return [partition, attempt, rows, bytes].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
}

const partitionProgressUpdate = defineUpdate<void, [readonly PartitionProgressReport[]]>(
  PARTITION_PROGRESS_UPDATE,
);

/**
 * The rejection every report gets once recorded: rejecting is what keeps it out of the history.
 * One instance, so that a report does not cost a stack trace.
 */
const RECORDED = new Error('progress recorded (rejected on purpose, so that no history event is written)');

/** Lets extraction activities report into `live` (see the module comment). */
export function receivePartitionProgress(live: LivePartitions): void {
  setHandler(
    partitionProgressUpdate,
    // Never runs: the validator rejects every report.
    () => undefined,
    {
      validator: (reports: readonly PartitionProgressReport[]) => {
        // `record` checks each report: the argument comes from outside the workflow.
        const list: readonly unknown[] = Array.isArray(reports) ? reports : [];
        for (const r of list) live.record(r as PartitionProgressReport);
        throw RECORDED;
      },
    },
  );
}
