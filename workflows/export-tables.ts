/**
 * The `exportTables` workflow: several tables (a list, or a schema's tables matching include /
 * exclude patterns), one child `exportTable` per table under our workflow ids, a bounded number at
 * once. A failed table does not stop the others; the result sums up every table. Run again under
 * the same id (or runKey), it skips the tables whose run is finished and resumes the others.
 * Deterministic: values only from src/contract/, everything else through activities.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  defineQuery,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { PgParquetActivities } from '../activities/index.js';
import {
  childExportInput,
  resolveExportTablesInput,
  type ExportTablesInput,
  type ResolvedExportTablesInput,
} from '../src/contract/export-tables-input.js';
import { displayName, type QualifiedName } from '../src/contract/table-name.js';
import type { ExportTableResult, exportTable } from './export-table.js';
import { surfaceCause, validated } from './failures.js';
import { exportWorkflowId, runKeyFromTime, runKeyFromWorkflowId } from './run-key.js';
import { SnapshotHold } from './run-snapshot.js';
import type { RunSnapshot } from '../src/contract/snapshot.js';

export type { ExportTablesInput } from '../src/contract/export-tables-input.js';

/** How one table of an `exportTables` run ended. */
export interface TableExportSummary {
  /** `schema.table` */
  readonly table: string;
  /** The child `exportTable`'s workflow id: `pg-parquet/<connection>/<schema>.<table>/<runKey>`. */
  readonly workflowId: string;
  readonly status: 'completed' | 'failed';
  /** Finished by an earlier run of this runKey (its `_SUCCESS` is stored): not exported again. */
  readonly skipped: boolean;
  readonly rows: number | null;
  /** Bytes of its data files (null for a failed table, or a skipped one finished by an older worker). */
  readonly bytes: number | null;
  readonly manifestUrl: string | null;
  /** The failure's type (e.g. `PgParquetUnsupportedCursor`) and message, for a failed table. */
  readonly failure: { readonly type: string; readonly message: string } | null;
}

/** What an `exportTables` run returns (it completes even when some tables failed: see `failed`). */
export interface ExportTablesResult {
  readonly runKey: string;
  readonly destination: string;
  /** Every table, in name order. */
  readonly tables: readonly TableExportSummary[];
  readonly completed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly rows: number;
  /** Bytes of the tables' data files (tables without a known size count 0). */
  readonly bytes: number;
}

/** Answer of the `tablesProgress` query of an `exportTables` run. */
export interface ExportTablesProgress {
  /** `listing` the tables, `exporting` them (children), `done`. */
  readonly phase: 'listing' | 'exporting' | 'done';
  readonly runKey: string;
  readonly tables: {
    /** Tables to export (0 while listing). */
    readonly total: number;
    /** Finished, completed or failed, skipped ones included. */
    readonly done: number;
    readonly running: number;
    readonly failed: number;
    readonly skipped: number;
  };
  /** Rows and bytes of the tables that finished. */
  readonly rows: number;
  readonly bytes: number;
  /** The tables whose child `exportTable` runs now (ask each for its own `progress`). */
  readonly runningTables: readonly { readonly table: string; readonly workflowId: string }[];
}

/**
 * Query of an `exportTables` run's progress. Not named `progress` like exportTable's: clients that
 * read that answer as one table's would misread this one.
 */
export const tablesProgressQuery = defineQuery<ExportTablesProgress>('tablesProgress');

const RETRY = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 10,
} as const;

const lookups = proxyActivities<PgParquetActivities>({ startToCloseTimeout: '10m', retry: RETRY });

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Exports several tables, one child `exportTable` each. See the README ("Whole schemas"). */
export async function exportTables(rawInput: ExportTablesInput): Promise<ExportTablesResult> {
  const input = validated(resolveExportTablesInput, rawInput);
  const info = workflowInfo();
  const runKey =
    input.runKey ??
    runKeyFromWorkflowId(info.workflowId) ??
    runKeyFromTime(info.typedSearchAttributes.get(SCHEDULED_START) ?? info.startTime);
  const destination = String(input.common.destination);

  const summaries: TableExportSummary[] = [];
  /** workflow id → table, of the children running now. */
  const running = new Map<string, string>();
  let phase: ExportTablesProgress['phase'] = 'listing';
  let total = 0;
  setHandler(tablesProgressQuery, () => {
    const { failed, skipped, rows, bytes } = totalsOf(summaries);
    return {
      phase,
      runKey,
      tables: { total, done: summaries.length, running: running.size, failed, skipped },
      rows,
      bytes,
      runningTables: [...running].map(([workflowId, table]) => ({ table, workflowId })),
    };
  });

  let tables: readonly QualifiedName[];
  try {
    tables =
      input.tables ??
      (
        await lookups.pgParquetListTables({
          connection: input.connection,
          schema: input.schema!,
          include: input.include,
          exclude: input.exclude,
        })
      ).tables;
  } catch (err) {
    throw surfaceCause(err);
  }
  const { completed } = await lookups.pgParquetCompletedRuns({ destination, runKey, tables });
  const done = new Map(completed.map((c) => [c.table, c]));
  log.info('exportTables', { runKey, tables: tables.length, alreadyDone: done.size });
  total = tables.length;
  phase = 'exporting';

  const todo: QualifiedName[] = [];
  for (const t of tables) {
    const name = displayName(t);
    const finished = done.get(name);
    if (finished) {
      summaries.push({
        table: name,
        workflowId: exportWorkflowId(input.connection, t, runKey),
        status: 'completed',
        skipped: true,
        rows: finished.rows,
        // Absent in the answer of a worker older than this field.
        bytes: (finished as { bytes?: number }).bytes ?? null,
        manifestUrl: finished.manifestUrl,
        failure: null,
      });
    } else {
      todo.push(t);
    }
  }

  // With tables.sharedSnapshot, every table reads one snapshot that this run holds.
  const hold = new SnapshotHold({ mode: 'snapshot', snapshot: null, restarts: 0 });
  let shared: RunSnapshot | null = null;
  if (input.sharedSnapshot && todo.length > 0) {
    try {
      shared = await hold.take({
        connection: input.connection,
        owner: info.workflowId,
        required: input.common.consistency === 'snapshot',
      });
    } catch (err) {
      throw surfaceCause(err);
    }
    if (shared)
      log.info('every table reads one snapshot', { runKey, snapshotId: shared.id, ...shared.point });
    else log.warn('the source cannot export a snapshot: each table reads its own', { runKey });
  }

  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < todo.length) {
      const table = todo[next++]!;
      const workflowId = exportWorkflowId(input.connection, table, runKey);
      running.set(workflowId, displayName(table));
      const summary = await exportOne(input, table, runKey, shared);
      running.delete(workflowId);
      summaries.push(summary);
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.maxConcurrent, todo.length) }, lane));
  hold.release();
  phase = 'done';

  summaries.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  return { runKey, destination, tables: summaries, ...totalsOf(summaries) };
}

/** How many tables completed, failed and were skipped, and their rows and bytes. */
function totalsOf(summaries: readonly TableExportSummary[]) {
  return {
    completed: summaries.filter((s) => s.status === 'completed').length,
    failed: summaries.filter((s) => s.status === 'failed').length,
    skipped: summaries.filter((s) => s.skipped).length,
    rows: summaries.reduce((n, s) => n + (s.rows ?? 0), 0),
    bytes: summaries.reduce((n, s) => n + (s.bytes ?? 0), 0),
  };
}

/** Runs one table's child `exportTable`; its failure becomes the table's summary, not ours. */
async function exportOne(
  input: ResolvedExportTablesInput,
  table: QualifiedName,
  runKey: string,
  sharedSnapshot: RunSnapshot | null,
): Promise<TableExportSummary> {
  const name = displayName(table);
  const workflowId = exportWorkflowId(input.connection, table, runKey);
  try {
    const r: ExportTableResult = await executeChild<typeof exportTable>('exportTable', {
      workflowId,
      args: [childExportInput(input, table, runKey, sharedSnapshot)],
    });
    return {
      table: name,
      workflowId,
      status: 'completed',
      skipped: false,
      rows: r.rows,
      bytes: r.bytes,
      manifestUrl: r.manifestUrl,
      failure: null,
    };
  } catch (err) {
    const cause = err instanceof ChildWorkflowFailure && err.cause ? err.cause : err;
    const type =
      cause instanceof ApplicationFailure
        ? (cause.type ?? 'ApplicationFailure')
        : cause instanceof Error
          ? cause.name
          : 'Error';
    const message = cause instanceof Error ? cause.message : String(cause);
    log.warn('table export failed', { table: name, type });
    return {
      table: name,
      workflowId,
      status: 'failed',
      skipped: false,
      rows: null,
      bytes: null,
      manifestUrl: null,
      failure: { type, message },
    };
  }
}
