/**
 * Application helpers: start an export, follow its progress, schedule it. They validate input
 * with the same code as the workflow, so bad input fails here before a run is started.
 */
import {
  type Client,
  type ScheduleHandle,
  type WorkflowHandle,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import { resolveExportInput, type ExportTableInput } from './contract/export-input.js';
import { displayName } from './contract/table-name.js';
import { taskQueueFromEnv } from './temporal-connection.js';
import type { ExportProgress, ExportTableResult } from '../workflows/export-table.js';
import { exportWorkflowId, runKeyFromTime } from '../workflows/run-key.js';

/** The workflow type name. */
export const EXPORT_WORKFLOW_TYPE = 'exportTable';

/** Options of {@link startExport}. */
export interface StartExportOptions {
  readonly taskQueue?: string;
  /** Override the workflow id (default `pg-parquet/<connection>/<schema>.<table>/<runKey>`). */
  readonly workflowId?: string;
}

/** A started export: its handle and the settled input (runKey filled in). */
export interface StartedExport {
  readonly handle: WorkflowHandle;
  readonly workflowId: string;
  readonly input: ExportTableInput & { runKey: string };
}

/**
 * Validates and starts an export. Without a runKey, the current time becomes the runKey, so the
 * workflow id names it and a failed run can be resumed by starting the same id again.
 */
export async function startExport(
  client: Client,
  input: ExportTableInput,
  options: StartExportOptions = {},
): Promise<StartedExport> {
  const resolved = resolveExportInput(input);
  const runKey = resolved.runKey ?? runKeyFromTime(new Date());
  const settled = { ...input, runKey };
  const workflowId =
    options.workflowId ?? exportWorkflowId(resolved.source.connection, displayName(resolved.table), runKey);
  const handle = await client.workflow.start(EXPORT_WORKFLOW_TYPE, {
    taskQueue: options.taskQueue ?? taskQueueFromEnv(),
    workflowId,
    args: [settled],
    // A failed or terminated run may be started again under its id: it resumes.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  return { handle, workflowId, input: settled };
}

/** Asks a running export for its progress (undefined if it cannot answer yet). */
export async function queryProgress(handle: WorkflowHandle): Promise<ExportProgress | undefined> {
  try {
    return await handle.query<ExportProgress>('progress');
  } catch {
    return undefined;
  }
}

/**
 * Waits for the result while calling `onProgress` about once per `intervalMs`.
 * Rejects with the workflow's failure (its cause carries the typed error).
 */
export async function waitForExport(
  handle: WorkflowHandle,
  onProgress: (p: ExportProgress) => void = () => undefined,
  intervalMs = 1000,
): Promise<ExportTableResult> {
  let settled = false;
  const result = handle.result() as Promise<ExportTableResult>;
  const poll = (async () => {
    while (!settled) {
      await new Promise((r) => setTimeout(r, intervalMs));
      if (settled) break;
      const p = await queryProgress(handle);
      if (p && !settled) onProgress(p);
    }
  })();
  try {
    return await result;
  } finally {
    settled = true;
    await poll;
  }
}

/** Options of {@link scheduleExport}. */
export interface ScheduleExportOptions {
  readonly scheduleId: string;
  /** Cron expressions, e.g. `['0 2 * * *']`. */
  readonly cron?: readonly string[];
  /** Or fixed intervals, e.g. `[{ every: '1h' }]`. */
  readonly intervals?: readonly { every: string; offset?: string }[];
  readonly taskQueue?: string;
  /** Skip a run when the previous one still runs (default), or buffer one. */
  readonly overlap?: 'SKIP' | 'BUFFER_ONE';
}

/**
 * Creates a schedule that starts exports. Scheduled runs take their runKey from the scheduled
 * time, so a run triggered again for the same time resumes rather than duplicates.
 */
export async function scheduleExport(
  client: Client,
  input: ExportTableInput,
  options: ScheduleExportOptions,
): Promise<ScheduleHandle> {
  const resolved = resolveExportInput(input);
  if (resolved.runKey !== null) {
    throw new TypeError('a scheduled export must not fix runKey: each run takes its scheduled time');
  }
  return client.schedule.create({
    scheduleId: options.scheduleId,
    spec: {
      ...(options.cron ? { cronExpressions: [...options.cron] } : {}),
      ...(options.intervals ? { intervals: options.intervals.map((i) => ({ ...i })) } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: EXPORT_WORKFLOW_TYPE,
      taskQueue: options.taskQueue ?? taskQueueFromEnv(),
      args: [input],
    },
    policies: { overlap: options.overlap ?? 'SKIP', catchupWindow: '1 day', pauseOnFailure: false },
  });
}
