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
  executeChild,
  log,
  proxyActivities,
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
}

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

  const summaries: TableExportSummary[] = [];
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
        manifestUrl: finished.manifestUrl,
        failure: null,
      });
    } else {
      todo.push(t);
    }
  }

  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < todo.length) {
      const table = todo[next++]!;
      summaries.push(await exportOne(input, table, runKey));
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.maxConcurrent, todo.length) }, lane));

  summaries.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  return {
    runKey,
    destination,
    tables: summaries,
    completed: summaries.filter((s) => s.status === 'completed').length,
    failed: summaries.filter((s) => s.status === 'failed').length,
    skipped: summaries.filter((s) => s.skipped).length,
    rows: summaries.reduce((n, s) => n + (s.rows ?? 0), 0),
  };
}

/** Runs one table's child `exportTable`; its failure becomes the table's summary, not ours. */
async function exportOne(
  input: ResolvedExportTablesInput,
  table: QualifiedName,
  runKey: string,
): Promise<TableExportSummary> {
  const name = displayName(table);
  const workflowId = exportWorkflowId(input.connection, table, runKey);
  try {
    const r: ExportTableResult = await executeChild<typeof exportTable>('exportTable', {
      workflowId,
      args: [childExportInput(input, table, runKey)],
    });
    return {
      table: name,
      workflowId,
      status: 'completed',
      skipped: false,
      rows: r.rows,
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
      manifestUrl: null,
      failure: { type, message },
    };
  }
}
