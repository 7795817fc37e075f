/**
 * The activity side of live progress: extraction activities report their partitions' rows and
 * bytes to their workflow run, so that the `progress` query moves during a partition (the
 * workflow side, and why a report is an Update that is always rejected, is in
 * workflows/live-progress.ts).
 *
 * All partitions of one workflow run that this process extracts share one mailbox: their latest
 * numbers are coalesced and sent together as one Update, at most about once a second. So a run
 * receives about one Update a second per worker process, however many partitions run at once
 * (one Update per partition would hit the server's 10 in-flight Updates per workflow and keep
 * its workflow busy with little else).
 *
 * Best effort by design: a report never fails an extraction and never waits in its way. At most
 * one Update is in flight per mailbox; newer numbers replace ones not sent yet; a failed Update (no
 * Update support on the server, the run closed) is logged at debug level, its reports are offered
 * again, and the next one waits longer.
 */
import type { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import {
  PARTITION_PROGRESS_UPDATE,
  type PartitionProgressReport,
} from '../src/contract/partition-progress.js';

/** Reports one partition's progress; see the module comment. */
export interface ProgressReporter {
  /** The partition's current numbers (called with every heartbeat; unchanged numbers are not sent). */
  offer(progress: { readonly rows: number; readonly bytes: number }): void;
  /** No more reports (the activity returns); an Update already in flight is left to finish. */
  stop(): void;
}

/** At most one Update a second per workflow run and process. */
const MIN_INTERVAL_MS = 1_000;
/**
 * Updates are spaced by at least this many round trips: when the workflow is slow to answer (a
 * busy worker or server), reports thin out instead of queueing up.
 */
const ROUND_TRIPS_BETWEEN = 4;
/** An Update not answered in this time is given up (the next one carries newer numbers anyway). */
const DEADLINE_MS = 10_000;
/** Pause after a failed Update, doubled per further failure up to the maximum. */
const BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 60_000;

/** Where one workflow run's reports from this process wait for the next Update. */
class RunMailbox {
  private readonly pending = new Map<number, PartitionProgressReport>();
  private readonly partitions = new Map<number, number>();
  private inFlight = false;
  private closed = false;
  private notBefore = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Client,
    private readonly run: { readonly workflowId: string; readonly runId: string },
    private readonly log: Context['log'],
  ) {}

  /** A partition's activity starts reporting here. */
  join(partition: number): void {
    this.partitions.set(partition, (this.partitions.get(partition) ?? 0) + 1);
  }

  /** The activity ended: its numbers not sent yet are dropped. True when no activity is left. */
  leave(partition: number): boolean {
    const n = (this.partitions.get(partition) ?? 1) - 1;
    if (n > 0) this.partitions.set(partition, n);
    else {
      this.partitions.delete(partition);
      this.pending.delete(partition);
    }
    if (this.partitions.size > 0) return false;
    this.closed = true;
    clearTimeout(this.timer);
    return true;
  }

  offer(report: PartitionProgressReport): void {
    this.pending.set(report.partition, report);
    this.pump();
  }

  private pump(): void {
    if (this.closed || this.inFlight || this.pending.size === 0) return;
    const wait = this.notBefore - Date.now();
    if (wait > 0) {
      // Numbers offered just after an Update still go out, without waiting for another offer.
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait).unref();
      return;
    }
    const reports = [...this.pending.values()];
    this.pending.clear();
    this.inFlight = true;
    void this.send(reports).finally(() => {
      this.inFlight = false;
      this.pump();
    });
  }

  private async send(reports: readonly PartitionProgressReport[]): Promise<void> {
    const t0 = Date.now();
    try {
      // The run that started these attempts, not the latest of the id: after a continue-as-new
      // the next run starts its carried partitions again itself, and must not count these.
      const handle = this.client.workflow.getHandle(this.run.workflowId, this.run.runId);
      await this.client.withDeadline(t0 + DEADLINE_MS, () =>
        handle.startUpdate<void, [readonly PartitionProgressReport[]]>(PARTITION_PROGRESS_UPDATE, {
          args: [reports],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        }),
      );
      // Resolves once the workflow's validator has answered: its rejection is how a delivered
      // report ends (SDK 1.24 returns a handle holding it; the docs say it throws, also fine).
      this.delivered(t0);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) return this.delivered(t0);
      this.failures++;
      this.notBefore = Date.now() + Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** (this.failures - 1));
      // Offered again unless newer numbers came meanwhile or the partition's activity ended.
      for (const r of reports) {
        if (!this.pending.has(r.partition) && this.partitions.has(r.partition))
          this.pending.set(r.partition, r);
      }
      this.log.debug('progress report not delivered', {
        workflowId: this.run.workflowId,
        error: String(err),
      });
    }
  }

  private delivered(t0: number): void {
    const now = Date.now();
    this.failures = 0;
    this.notBefore = Math.max(t0 + MIN_INTERVAL_MS, now + ROUND_TRIPS_BETWEEN * (now - t0));
  }
}

/** The mailboxes of the runs whose partitions this process extracts now. */
const mailboxes = new Map<string, RunMailbox>();

const NONE: ProgressReporter = { offer: () => undefined, stop: () => undefined };

/** A reporter for the running activity's partition, or one that does nothing outside a workflow. */
export function progressReporter(ctx: Context, partition: number): ProgressReporter {
  const run = ctx.info.workflowExecution;
  if (!run) return NONE;
  let client: Client;
  try {
    client = ctx.client;
  } catch {
    // No client (a MockActivityEnvironment created without one): no live progress.
    return NONE;
  }
  const key = `${ctx.info.namespace}\n${run.workflowId}\n${run.runId}`;
  let mailbox = mailboxes.get(key);
  if (!mailbox) {
    mailbox = new RunMailbox(client, run, ctx.log);
    mailboxes.set(key, mailbox);
  }
  const box = mailbox;
  box.join(partition);
  const attempt = ctx.info.attempt;
  let offeredRows = -1;
  let stopped = false;
  return {
    offer({ rows, bytes }) {
      if (stopped || rows === offeredRows) return;
      offeredRows = rows;
      box.offer({ partition, attempt, rows, bytes });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (box.leave(partition) && mailboxes.get(key) === box) mailboxes.delete(key);
    },
  };
}
