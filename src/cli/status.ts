/** `pg-parquet status <workflowId>`, `pg-parquet cancel <workflowId>` and `pg-parquet list`. */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { EXPORT_TABLES_WORKFLOW_TYPE, EXPORT_WORKFLOW_TYPE, queryProgress } from '../client.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { parseQualifiedName } from '../contract/table-name.js';
import { taskQueueFromEnv } from '../temporal-connection.js';
import type { ExportProgress, ExportTableResult } from '../../workflows/export-table.js';
import type { ExportTablesProgress, ExportTablesResult } from '../../workflows/export-tables.js';
import { exportWorkflowId, runKeyFromWorkflowId, WORKFLOW_ID_PREFIX } from '../../workflows/run-key.js';
import { summarizeFailure, type FailureSummary } from './failure.js';
import { formatBytes, formatCount, formatDuration } from './progress-view.js';
import { pendingWork, progressOfResult, withTimeout, type PendingWork } from './run-info.js';
import { printTablesResult } from './tables-progress.js';

/** One row of `list`. */
export interface RunListing {
  readonly workflowId: string;
  readonly runId: string;
  /** Temporal's status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, … */
  readonly status: string;
  readonly table: string | null;
  readonly runKey: string | null;
  readonly taskQueue: string;
  readonly startTime: string;
  readonly closeTime: string | null;
}

/** What `status --json` prints: the run as `list` shows it, and what it did. */
export interface RunStatus extends RunListing {
  /** The `progress` answer (for a finished run: its totals); null when no worker answered. */
  readonly progress: ExportProgress | null;
  /** Activities scheduled or running now: partitions with their rows so far, compaction, … */
  readonly pending: readonly PendingWork[];
  readonly manifestUrl: string | null;
  readonly result: ExportTableResult | null;
  readonly error: FailureSummary | null;
  /** `exportTable`, or `exportTables` (then `progress` and `result` are null, and `tables` tells). */
  readonly workflowType: string;
  /** For an `exportTables` run: its `tablesProgress` answer while it runs, its result once done. */
  readonly tables: {
    readonly progress: ExportTablesProgress | null;
    readonly result: ExportTablesResult | null;
  } | null;
}

const CLOSED_FAILED = new Set(['FAILED', 'TERMINATED', 'CANCELLED', 'TIMED_OUT']);

function notFound(workflowId: string, why = 'no export run has this workflow id'): PgParquetError {
  return new PgParquetError(ErrorType.RunNotFound, `${workflowId}: ${why}`, false, { workflowId });
}

/** Reads the state of a run: progress while it runs, the manifest once done, the failure if it failed. */
export async function runStatus(client: Client, workflowId: string): Promise<RunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  let d;
  try {
    d = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(workflowId);
    throw err;
  }
  const status = d.status.name;
  const several = d.type === EXPORT_TABLES_WORKFLOW_TYPE;
  let progress: ExportProgress | null = null;
  let result: ExportTableResult | null = null;
  let tables: RunStatus['tables'] = null;
  let error: FailureSummary | null = null;
  if (status === 'COMPLETED') {
    const value: unknown = await handle.result();
    if (several) tables = { progress: null, result: value as ExportTablesResult };
    else {
      result = value as ExportTableResult;
      progress = progressOfResult(result);
    }
  } else {
    if (CLOSED_FAILED.has(status)) {
      try {
        await handle.result();
      } catch (err) {
        error = summarizeFailure(err);
      }
    }
    // A closed run answers only through a worker replaying it: do not wait long for one.
    const ms = status === 'RUNNING' ? 5_000 : 2_000;
    if (several) {
      const answer = handle.query<ExportTablesProgress>('tablesProgress').catch(() => undefined);
      tables = { progress: (await withTimeout(answer, ms)) ?? null, result: null };
    } else progress = (await withTimeout(queryProgress(handle), ms)) ?? null;
  }
  return {
    workflowId,
    runId: d.runId,
    status,
    table: progress?.table ?? result?.table ?? null,
    runKey:
      result?.runKey ??
      progress?.runKey ??
      tables?.result?.runKey ??
      tables?.progress?.runKey ??
      runKeyFromWorkflowId(workflowId) ??
      null,
    taskQueue: d.taskQueue,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime?.toISOString() ?? null,
    progress,
    pending: status === 'RUNNING' ? pendingWork(d) : [],
    manifestUrl: result?.manifestUrl ?? null,
    result,
    error,
    workflowType: d.type,
    tables,
  };
}

/** Exit code of `status`: 1 for a run that ended without success (or, of several tables, with a failed one). */
export function statusExitCode(s: RunStatus): number {
  return CLOSED_FAILED.has(s.status) || (s.tables?.result?.failed ?? 0) > 0 ? 1 : 0;
}

/** The human form of {@link RunStatus}. */
export function printStatus(s: RunStatus): void {
  const since = formatDuration(
    ((s.closeTime ? Date.parse(s.closeTime) : Date.now()) - Date.parse(s.startTime)) / 1000,
  );
  console.log(
    `${s.workflowId}: ${s.status} (started ${s.startTime}, ${since}${s.closeTime ? '' : ' so far'})`,
  );
  const p = s.progress;
  if (p) {
    const q = p.partitions;
    console.log(
      `  phase ${p.phase}; partitions ${q.done}/${q.total} done, ${q.running} running` +
        `${q.skipped ? `, ${q.skipped} skipped (done earlier)` : ''}; ` +
        `${formatCount(p.rows)} rows, ${formatBytes(p.bytes)}`,
    );
  } else if (s.tables?.progress) {
    const t = s.tables.progress;
    console.log(
      `  phase ${t.phase}; tables ${t.tables.done}/${t.tables.total} done (${t.tables.failed} failed, ` +
        `${t.tables.skipped} skipped), ${t.tables.running} running; ${formatCount(t.rows)} rows of finished tables`,
    );
    for (const r of t.runningTables) console.log(`  running ${r.table}: pg-parquet status '${r.workflowId}'`);
  } else if (s.tables?.result) {
    printTablesResult(s.tables.result);
  } else if (s.status === 'RUNNING') {
    console.log('  progress: no worker answered the progress query (is a worker running on its task queue?)');
  }
  for (const w of s.pending) {
    const what = w.partition === null ? w.activity : `partition ${w.partition}`;
    const retry =
      w.attempt > 1 ? `, attempt ${w.attempt}${w.lastFailure ? ` (last: ${w.lastFailure})` : ''}` : '';
    console.log(
      `  ${what}: ${w.state}${retry}; ${formatCount(w.rows)} rows, ${formatBytes(w.bytes)}` +
        `${w.lastCursor === null ? '' : `, cursor at ${w.lastCursor}`}`,
    );
  }
  if (s.result) {
    console.log(
      `  exported ${formatCount(s.result.rows)} rows in ${s.result.files} files (${formatBytes(s.result.bytes)})`,
    );
  }
  if (s.manifestUrl) console.log(`  manifest ${s.manifestUrl}`);
  if (s.error) console.log(`  error ${s.error.type}: ${s.error.message}`);
  if (s.status === 'FAILED' || s.status === 'TERMINATED' || s.status === 'TIMED_OUT') {
    console.log('  start it again under the same id (same --run-key) to resume where it stopped');
  }
}

/** Requests cancellation of a running export; with `wait`, resolves once it has ended. */
export async function cancelRun(
  client: Client,
  workflowId: string,
  wait: boolean,
): Promise<{ workflowId: string; runKey: string | null; status: string }> {
  const handle = client.workflow.getHandle(workflowId);
  let d;
  try {
    d = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(workflowId);
    throw err;
  }
  if (d.status.name !== 'RUNNING') throw notFound(workflowId, `the run is not running (${d.status.name})`);
  await handle.cancel();
  let status = 'CANCEL_REQUESTED';
  if (wait) {
    await handle.result().catch(() => undefined);
    status = (await handle.describe()).status.name;
  }
  return { workflowId, runKey: runKeyFromWorkflowId(workflowId) ?? null, status };
}

/** What `list` selects. */
export interface ListOptions {
  /** `schema.table`: only its runs (by workflow id); else all exports. */
  readonly table?: string;
  readonly connection: string;
  /** Only runs on this task queue (default the CLI's); null: any. */
  readonly taskQueue: string | null;
  readonly limit: number;
  readonly status?: string;
}

/** Quotes a value for a visibility query. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The visibility query of {@link listRuns}. */
export function listQuery(o: ListOptions): string {
  const parts = [`WorkflowType = ${literal(EXPORT_WORKFLOW_TYPE)}`, `ExecutionStatus != 'ContinuedAsNew'`];
  if (o.table) {
    const table = parseQualifiedName(o.table, 'table');
    parts.push(`WorkflowId STARTS_WITH ${literal(`${exportWorkflowId(o.connection, table, '')}`)}`);
  }
  if (o.taskQueue !== null) parts.push(`TaskQueue = ${literal(o.taskQueue)}`);
  if (o.status) parts.push(`ExecutionStatus = ${literal(o.status)}`);
  return parts.join(' AND ');
}

/** Runs of a table (or all exports), newest first, through Temporal's visibility API. */
export async function listRuns(client: Client, o: ListOptions): Promise<RunListing[]> {
  const out: RunListing[] = [];
  for await (const w of client.workflow.list({ query: listQuery(o) })) {
    const rest = w.workflowId.startsWith(`${WORKFLOW_ID_PREFIX}/`) ? w.workflowId.split('/') : [];
    out.push({
      workflowId: w.workflowId,
      runId: w.runId,
      status: w.status.name,
      table: rest.length >= 4 ? rest.slice(2, -1).join('/') : null,
      runKey: runKeyFromWorkflowId(w.workflowId) ?? null,
      taskQueue: w.taskQueue,
      startTime: w.startTime.toISOString(),
      closeTime: w.closeTime?.toISOString() ?? null,
    });
    if (out.length >= o.limit) break;
  }
  return out.sort((a, b) => b.startTime.localeCompare(a.startTime));
}

/** The human form of {@link listRuns}: one line per run. */
export function printList(runs: readonly RunListing[]): void {
  if (runs.length === 0) {
    console.log('no export runs found');
    return;
  }
  const rows = runs.map((r) => [
    r.startTime.replace(/\.\d+Z$/, 'Z'),
    r.status,
    r.runKey ?? '-',
    r.workflowId,
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const head = ['STARTED', 'STATUS', 'RUN KEY', 'WORKFLOW ID'];
  for (const r of [head, ...rows]) {
    console.log(r.map((c, i) => (i < 3 ? c.padEnd(Math.max(widths[i]!, head[i]!.length)) : c)).join('  '));
  }
}

/** Default task queue filter of `list`. */
export function defaultListQueue(allQueues: boolean | undefined): string | null {
  return allQueues ? null : taskQueueFromEnv();
}
