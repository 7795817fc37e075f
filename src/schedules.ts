/**
 * Operations on export schedules (made by `scheduleExport`): list, describe, trigger, backfill,
 * pause, unpause, delete. Every run a schedule starts is named `<action id>-<scheduled time>`,
 * and its runKey is that time (see `runKeyFromWorkflowId`), so each run here is listed with it.
 */
import type {
  Client,
  ScheduleDescription,
  ScheduleExecutionResult,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import { runKeyFromWorkflowId } from '../workflows/run-key.js';
import { EXPORT_TABLES_WORKFLOW_TYPE, EXPORT_WORKFLOW_TYPE, type OverlapPolicy } from './client.js';

/** One run a schedule started. */
export interface ScheduledRun {
  /** The time the schedule (or a backfill, or a trigger) started the run for. */
  readonly scheduledAt: Date;
  readonly workflowId: string;
  readonly firstRunId: string;
  /** The runKey the run exports under (from its workflow id). */
  readonly runKey: string | undefined;
}

/** A schedule of exports, as the helpers below report it. */
export interface ExportSchedule {
  readonly scheduleId: string;
  /** `exportTable` or `exportTables`. */
  readonly workflowType: string;
  readonly paused: boolean;
  readonly note: string | undefined;
  /** Latest runs first. */
  readonly recentRuns: readonly ScheduledRun[];
  readonly nextRunTimes: readonly Date[];
}

/** A schedule in full: {@link ExportSchedule}, plus its action's id, runs in flight and policies. */
export interface ExportScheduleDetails extends ExportSchedule {
  /** The id every run's id starts with (`pg-parquet/<connection>/<schema>.<table>`). */
  readonly workflowIdBase: string;
  readonly taskQueue: string;
  readonly input: unknown;
  readonly runningWorkflowIds: readonly string[];
  readonly overlap: ScheduleOverlapPolicy;
  readonly catchupWindowMs: number;
  readonly pauseOnFailure: boolean;
  readonly actionsTaken: number;
  /** The SDK's full description. */
  readonly raw: ScheduleDescription;
}

/** The workflow types an export schedule starts. */
export const EXPORT_TYPES: ReadonlySet<string> = new Set([EXPORT_WORKFLOW_TYPE, EXPORT_TABLES_WORKFLOW_TYPE]);

function runsOf(results: readonly ScheduleExecutionResult[]): ScheduledRun[] {
  return results
    .map((r) => ({
      scheduledAt: r.scheduledAt,
      workflowId: r.action.workflow.workflowId,
      firstRunId: r.action.workflow.firstExecutionRunId,
      runKey: runKeyFromWorkflowId(r.action.workflow.workflowId),
    }))
    .sort((a, b) => b.scheduledAt.getTime() - a.scheduledAt.getTime());
}

/** Every schedule whose action starts `exportTable` or `exportTables`. */
export async function listExportSchedules(client: Client): Promise<ExportSchedule[]> {
  const out: ExportSchedule[] = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.type !== 'startWorkflow' || !EXPORT_TYPES.has(s.action.workflowType)) continue;
    out.push({
      scheduleId: s.scheduleId,
      workflowType: s.action.workflowType,
      paused: s.state.paused,
      note: s.state.note,
      recentRuns: runsOf(s.info.recentActions),
      nextRunTimes: s.info.nextActionTimes,
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** One schedule, with its runs (each with its runKey) and policies. */
export async function describeExportSchedule(
  client: Client,
  scheduleId: string,
): Promise<ExportScheduleDetails> {
  const d = await client.schedule.getHandle(scheduleId).describe();
  return {
    scheduleId: d.scheduleId,
    workflowType: d.action.workflowType,
    paused: d.state.paused,
    note: d.state.note,
    recentRuns: runsOf(d.info.recentActions),
    nextRunTimes: d.info.nextActionTimes,
    workflowIdBase: d.action.workflowId,
    taskQueue: d.action.taskQueue,
    input: d.action.args?.[0],
    runningWorkflowIds: d.info.runningActions.map((a) => a.workflow.workflowId),
    overlap: d.policies.overlap ?? 'SKIP',
    catchupWindowMs: d.policies.catchupWindow,
    pauseOnFailure: d.policies.pauseOnFailure,
    actionsTaken: d.info.numActionsTaken,
    raw: d,
  };
}

/**
 * Starts a run now (its runKey is the current time, to the second). `overlap` applies to this
 * run; without it the SDK uses `ALLOW_ALL`, not the schedule's own policy (the CLI passes the
 * schedule's).
 */
export async function triggerExportSchedule(
  client: Client,
  scheduleId: string,
  options: { readonly overlap?: ScheduleOverlapPolicy } = {},
): Promise<void> {
  await client.schedule.getHandle(scheduleId).trigger(options.overlap);
}

/** Options of {@link backfillExportSchedule}. */
export interface BackfillOptions {
  /** First and last time of the range, both included: every scheduled time in it gets a run. */
  readonly start: Date;
  readonly end: Date;
  /** Default `BUFFER_ALL`: the runs go one after the other, none is skipped. */
  readonly overlap?: OverlapPolicy;
}

/**
 * Starts the runs the schedule would have started in [start, end], each with its own scheduled
 * time as runKey (a time that was already exported resumes, i.e. finishes at once).
 */
export async function backfillExportSchedule(
  client: Client,
  scheduleId: string,
  options: BackfillOptions,
): Promise<void> {
  await client.schedule
    .getHandle(scheduleId)
    .backfill({ start: options.start, end: options.end, overlap: options.overlap ?? 'BUFFER_ALL' });
}

/** Pauses a schedule (no runs start until it is unpaused; triggers and backfills still run). */
export async function pauseExportSchedule(client: Client, scheduleId: string, note?: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).pause(note);
}

/** Unpauses a schedule (also one paused by `pauseOnFailure`). */
export async function unpauseExportSchedule(
  client: Client,
  scheduleId: string,
  note?: string,
): Promise<void> {
  await client.schedule.getHandle(scheduleId).unpause(note);
}

/** Deletes a schedule; runs it started keep running. */
export async function deleteExportSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).delete();
}
