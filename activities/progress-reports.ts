/**
 * The activity side of live progress: an extraction activity reports its partition's rows and
 * bytes to its own workflow run, so that the `progress` query moves during the partition (the
 * workflow side, and why a report is an Update that is always rejected, is in
 * workflows/live-progress.ts).
 *
 * Best effort by design: a report never fails the extraction and never waits in its way. At most
 * one is in flight per activity; newer numbers replace a report not yet sent; a failed report
 * (no Update support on the server, too many in-flight Updates, the run closed) is logged at
 * debug level and the next one waits longer.
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
  offer(progress: { readonly partition: number; readonly rows: number; readonly bytes: number }): void;
  /** No more reports (the activity returns); one already in flight is left to finish on its own. */
  stop(): void;
}

/** At most one report a second per partition. */
const MIN_INTERVAL_MS = 1_000;
/**
 * Reports are spaced by at least this many round trips: when the workflow is slow to answer
 * (a busy worker, hundreds of partitions reporting), reports thin out instead of queueing up.
 */
const ROUND_TRIPS_BETWEEN = 4;
/** A report not answered in this time is given up (the next one carries newer numbers anyway). */
const DEADLINE_MS = 10_000;
/** Pause after a failed report, doubled per further failure up to the maximum. */
const BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 60_000;

const NONE: ProgressReporter = { offer: () => undefined, stop: () => undefined };

/** A reporter for the running activity, or one that does nothing outside a workflow's activity. */
export function progressReporter(ctx: Context): ProgressReporter {
  const run = ctx.info.workflowExecution;
  if (!run) return NONE;
  let client: Client;
  try {
    client = ctx.client;
  } catch {
    // No client (a MockActivityEnvironment created without one): no live progress.
    return NONE;
  }
  // The run that started this attempt, not the latest of its id: after a continue-as-new the next
  // run starts this partition again itself, and this attempt's reports must not reach it.
  const handle = client.workflow.getHandle(run.workflowId, run.runId);
  const attempt = ctx.info.attempt;
  let pending: PartitionProgressReport | undefined;
  let sentRows = -1;
  let inFlight = false;
  let stopped = false;
  let notBefore = 0;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const send = async (report: PartitionProgressReport): Promise<void> => {
    const t0 = Date.now();
    try {
      await client.withDeadline(t0 + DEADLINE_MS, () =>
        handle.startUpdate<void, [PartitionProgressReport]>(PARTITION_PROGRESS_UPDATE, {
          args: [report],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        }),
      );
      delivered(t0);
    } catch (err) {
      // The validator's rejection is how a delivered report ends.
      if (err instanceof WorkflowUpdateFailedError) delivered(t0);
      else {
        // Offered again (by the next heartbeat) once the pause is over.
        sentRows = -1;
        failures++;
        notBefore = Date.now() + Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** (failures - 1));
        ctx.log.debug('progress report not delivered', { partition: report.partition, error: String(err) });
      }
    }
  };
  const delivered = (t0: number): void => {
    const now = Date.now();
    failures = 0;
    notBefore = Math.max(t0 + MIN_INTERVAL_MS, now + ROUND_TRIPS_BETWEEN * (now - t0));
  };
  const pump = (): void => {
    if (stopped || inFlight || pending === undefined) return;
    const wait = notBefore - Date.now();
    if (wait > 0) {
      // The numbers of a batch stored just after a report still go out, without another heartbeat.
      timer ??= setTimeout(() => {
        timer = undefined;
        pump();
      }, wait).unref();
      return;
    }
    const report = pending;
    pending = undefined;
    sentRows = report.rows;
    inFlight = true;
    void send(report).finally(() => {
      inFlight = false;
      pump();
    });
  };
  return {
    offer({ partition, rows, bytes }) {
      if (stopped || rows === sentRows) return;
      pending = { partition, attempt, rows, bytes };
      pump();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
