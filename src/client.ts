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
import { checkCronExpression, checkTimeZone } from './contract/cron-expression.js';
import { InputError } from './contract/errors.js';
import { resolveExportInput, type ExportTableInput } from './contract/export-input.js';
import { keyName, keyPart, type QualifiedName } from './contract/table-name.js';
import { taskQueueFromEnv } from './temporal-connection.js';
import type { ExportProgress, ExportTableResult } from '../workflows/export-table.js';
import {
  exportScheduleWorkflowId,
  exportTablesWorkflowId,
  exportWorkflowId,
  runKeyFromTime,
} from '../workflows/run-key.js';
import { resolveExportTablesInput, type ExportTablesInput } from './contract/export-tables-input.js';

/** The workflow type name. */
export const EXPORT_WORKFLOW_TYPE = 'exportTable';
/** The workflow type name of the several-tables export. */
export const EXPORT_TABLES_WORKFLOW_TYPE = 'exportTables';

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
    options.workflowId ?? exportWorkflowId(resolved.source.connection, resolved.table, runKey);
  const handle = await client.workflow.start(EXPORT_WORKFLOW_TYPE, {
    taskQueue: options.taskQueue ?? taskQueueFromEnv(),
    workflowId,
    args: [settled],
    // A failed or terminated run may be started again under its id: it resumes.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  return { handle, workflowId, input: settled };
}

/** Options of {@link startExportTables}. */
export interface StartExportTablesOptions {
  readonly taskQueue?: string;
  /** Override the workflow id (default `pg-parquet/<connection>/<schema>.*` or `…/tables`, then `/<runKey>`). */
  readonly workflowId?: string;
}

/**
 * Validates and starts an `exportTables` run (several tables, one child `exportTable` each).
 * Without a runKey, the current time becomes it; starting the same id again skips the tables that
 * finished and resumes the others. Wait with `handle.result()` for an `ExportTablesResult`.
 */
export async function startExportTables(
  client: Client,
  input: ExportTablesInput,
  options: StartExportTablesOptions = {},
): Promise<{ handle: WorkflowHandle; workflowId: string; input: ExportTablesInput & { runKey: string } }> {
  const resolved = resolveExportTablesInput(input);
  const runKey = resolved.runKey ?? runKeyFromTime(new Date());
  const settled = { ...input, runKey };
  const workflowId =
    options.workflowId ?? exportTablesWorkflowId(resolved.connection, tablesLabel(resolved.schema), runKey);
  const handle = await client.workflow.start(EXPORT_TABLES_WORKFLOW_TYPE, {
    taskQueue: options.taskQueue ?? taskQueueFromEnv(),
    workflowId,
    args: [settled],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  return { handle, workflowId, input: settled };
}

/** The part of an `exportTables` workflow id that names its tables: `<schema>.*` for a whole schema, `tables` for a list. */
export function tablesLabel(schema: string | null): string {
  return schema === null ? 'tables' : `${schema}.*`;
}

/**
 * The default id of a schedule: `pg-parquet-<connection>-<schema>.<table>` for one table (escaped
 * as in object keys), `pg-parquet-<connection>-schema-<schema>` for a whole schema and
 * `pg-parquet-<connection>-tables` for a list. No `/` (it would need escaping in the UI's URLs)
 * and no `*` (a shell would expand it).
 */
function defaultScheduleId(connection: string, target: QualifiedName | { schema: string | null }): string {
  const label =
    'name' in target
      ? keyName(target)
      : target.schema === null
        ? 'tables'
        : `schema-${keyPart(target.schema)}`;
  return `pg-parquet-${connection}-${label}`;
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
  // The pause between two progress queries ends early when the run does: returning the result
  // must not wait for the rest of an interval (up to a second added to every `--wait`).
  let wake: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const result = handle.result() as Promise<ExportTableResult>;
  const poll = (async () => {
    while (!settled) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
      if (settled) break;
      const p = await queryProgress(handle);
      if (p && !settled) onProgress(p);
    }
  })();
  try {
    return await result;
  } finally {
    settled = true;
    clearTimeout(timer);
    wake();
    await poll;
  }
}

/**
 * What a scheduled run does that comes while the previous one still runs: `SKIP` it (the
 * default), buffer one or all of them to run after it, or run them all at once. (Temporal's
 * `CANCEL_OTHER` and `TERMINATE_OTHER` are left out: they would stop an export half way.)
 */
export const OVERLAP_POLICIES = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'ALLOW_ALL'] as const;
/** One of {@link OVERLAP_POLICIES}. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Options of {@link scheduleExport}. */
export interface ScheduleExportOptions {
  /**
   * Default `pg-parquet-<connection>-<schema>.<table>` (`…-schema-<schema>` for a whole schema,
   * `…-tables` for a list of tables).
   */
  readonly scheduleId?: string;
  /** Cron expressions, e.g. `['0 2 * * *']`. At least one cron expression or interval. */
  readonly cron?: readonly string[];
  /** Or fixed intervals, e.g. `[{ every: '1h' }]` (with an optional `offset`; strings or milliseconds). */
  readonly intervals?: readonly { every: string | number; offset?: string | number }[];
  /** IANA time zone of the cron expressions (default UTC). */
  readonly timezone?: string;
  readonly taskQueue?: string;
  /**
   * What a run does that comes while the previous one still runs: `SKIP` it (default), buffer it
   * (`BUFFER_ONE`, `BUFFER_ALL`), or `ALLOW_ALL` (exports of one table never share a runKey).
   */
  readonly overlap?: OverlapPolicy;
  /** How late a missed run (server down) may still start (default `1 day`; at least 10 s; text or milliseconds). */
  readonly catchupWindow?: string | number;
  /** Pause the schedule when a run fails, until `unpauseExportSchedule` (default false). */
  readonly pauseOnFailure?: boolean;
  /** Create it paused (default false). */
  readonly paused?: boolean;
  /** A note shown with the schedule in the UI. */
  readonly note?: string;
  /**
   * The action's workflow id (default `pg-parquet/<connection>/<schema>.<table>`). The server
   * starts each run as `<this>-<scheduled time>`, which is where a run takes its runKey from.
   */
  readonly workflowId?: string;
}

/**
 * Creates a schedule that starts exports. Every run gets the id
 * `pg-parquet/<connection>/<schema>.<table>-<scheduled time, RFC 3339>` from the server, and the
 * workflow reads its runKey from that suffix (`…-2026-11-22T10:15:00Z` → `20261122T101500Z`), so
 * a failed run started again under its id (the UI's "start like this one", or the CLI) resumes.
 * @throws InputError when `input` is invalid, fixes a runKey, or neither cron nor intervals is given.
 */
export async function scheduleExport(
  client: Client,
  input: ExportTableInput,
  options: ScheduleExportOptions,
): Promise<ScheduleHandle> {
  const resolved = resolveExportInput(input);
  const connection = resolved.source.connection;
  return createSchedule(client, {
    workflowType: EXPORT_WORKFLOW_TYPE,
    input,
    runKey: resolved.runKey,
    workflowId: options.workflowId ?? exportScheduleWorkflowId(connection, resolved.table),
    scheduleId: options.scheduleId ?? defaultScheduleId(connection, resolved.table),
    options,
  });
}

/**
 * Creates a schedule of `exportTables` runs (see {@link scheduleExport}); the action's id is
 * `pg-parquet/<connection>/<schema>.*` (or `…/tables`), and each run's children use the run's runKey.
 */
export async function scheduleExportTables(
  client: Client,
  input: ExportTablesInput,
  options: ScheduleExportOptions,
): Promise<ScheduleHandle> {
  const resolved = resolveExportTablesInput(input);
  const { connection, schema } = resolved;
  return createSchedule(client, {
    workflowType: EXPORT_TABLES_WORKFLOW_TYPE,
    input,
    runKey: resolved.runKey,
    workflowId: options.workflowId ?? exportScheduleWorkflowId(connection, tablesLabel(schema)),
    scheduleId: options.scheduleId ?? defaultScheduleId(connection, { schema }),
    options,
  });
}

/** What {@link createSchedule} creates: a schedule of `workflowType` with `input` as its one argument. */
interface ScheduleRequest {
  readonly workflowType: string;
  readonly input: unknown;
  /** The input's own runKey: must be null. */
  readonly runKey: string | null;
  readonly workflowId: string;
  readonly scheduleId: string;
  readonly options: ScheduleExportOptions;
}

/** Creates the schedule of a {@link ScheduleRequest} (see {@link scheduleExport}). */
async function createSchedule(client: Client, request: ScheduleRequest): Promise<ScheduleHandle> {
  const { workflowType, input, runKey, workflowId, scheduleId, options } = request;
  if (runKey !== null) {
    throw new InputError('runKey', runKey, 'null: each scheduled run takes its scheduled time as runKey');
  }
  const cron = options.cron ?? [];
  const intervals = options.intervals ?? [];
  if (cron.length === 0 && intervals.length === 0) {
    throw new InputError('cron', options.cron, 'at least one cron expression or interval');
  }
  // Refused here, typed, rather than by the server as an untyped INVALID_ARGUMENT.
  cron.forEach((c, i) => checkCronExpression(c, `cron[${i}]`));
  if (options.timezone) checkTimeZone(options.timezone, 'timezone');
  return client.schedule.create({
    scheduleId,
    spec: {
      ...(cron.length > 0 ? { cronExpressions: [...cron] } : {}),
      ...(intervals.length > 0 ? { intervals: intervals.map((i) => ({ ...i })) } : {}),
      ...(options.timezone ? { timezone: options.timezone } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType,
      workflowId,
      taskQueue: options.taskQueue ?? taskQueueFromEnv(),
      args: [input],
    },
    policies: {
      overlap: options.overlap ?? 'SKIP',
      catchupWindow: options.catchupWindow ?? '1 day',
      pauseOnFailure: options.pauseOnFailure ?? false,
    },
    state: {
      paused: options.paused ?? false,
      ...(options.note === undefined ? {} : { note: options.note }),
    },
  });
}
