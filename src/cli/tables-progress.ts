/**
 * Following an `exportTables` run from the CLI: its `tablesProgress` answer (tables done, rows of
 * the finished ones) plus one look at each running child `exportTable`, added up into the same
 * {@link LiveProgress} that one table's `--wait` shows, counted in tables; and its result, table
 * by table.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ExportPhase } from '../../workflows/export-table.js';
import type { ExportTablesProgress, ExportTablesResult } from '../../workflows/export-tables.js';
import { formatBytes, formatCount, type LiveProgress } from './progress-view.js';
import { followRun, lookAtRun, withTimeout } from './run-info.js';

/** The tables phases as the progress view names them. */
const PHASES: Readonly<Record<ExportTablesProgress['phase'], ExportPhase>> = {
  listing: 'planning',
  exporting: 'extracting',
  done: 'done',
};

/** One look at an `exportTables` run and at each of its running children. */
async function lookAtTables(client: Client, handle: WorkflowHandle): Promise<LiveProgress | undefined> {
  const p = await withTimeout(
    handle.query<ExportTablesProgress>('tablesProgress').catch(() => undefined),
    5_000,
  );
  if (!p) return undefined;
  const children = await Promise.all(
    p.runningTables.map((t) => lookAtRun(client.workflow.getHandle(t.workflowId)).catch(() => undefined)),
  );
  let rows = 0;
  let bytes = 0;
  for (const c of children) {
    rows += (c?.finished.rows ?? 0) + (c?.inflight.rows ?? 0);
    bytes += (c?.finished.bytes ?? 0) + (c?.inflight.bytes ?? 0);
  }
  return {
    progress: {
      phase: PHASES[p.phase],
      table: null,
      runKey: p.runKey,
      partitions: {
        total: p.tables.total,
        done: p.tables.done,
        running: p.tables.running,
        skipped: p.tables.skipped,
      },
      rows: p.rows,
      bytes: p.bytes,
      estimatedRows: null,
      runningPartitions: [],
      consistency: null,
    },
    // Finished tables (the parent's sums), then what running tables have stored so far.
    finished: { rows: p.rows, bytes: p.bytes },
    inflight: { rows, bytes },
    // Tables not started yet have no estimate: the view counts tables.
    estimatedRows: null,
  };
}

/**
 * Waits for an `exportTables` run's result while calling `onLook` about once a second. Rejects
 * with the workflow's failure (a bad input, a schema that does not exist); a failed table is not
 * a failure of the run but a line of its result.
 */
export function followExportTables(
  client: Client,
  handle: WorkflowHandle,
  onLook: ((live: LiveProgress) => void) | undefined,
): Promise<ExportTablesResult> {
  return followRun({ handle, look: () => lookAtTables(client, handle), onLook });
}

/** The human form of an `exportTables` result: one line per table, then the totals. */
export function printTablesResult(r: ExportTablesResult): void {
  const width = Math.max(...r.tables.map((t) => t.table.length), 5);
  for (const t of r.tables) {
    const state = t.status === 'failed' ? 'failed' : t.skipped ? 'skipped' : 'completed';
    const what =
      t.status === 'failed'
        ? `${t.failure?.type ?? 'Error'}: ${t.failure?.message ?? ''}`
        : `${formatCount(t.rows ?? 0)} rows${t.skipped ? ' (finished earlier)' : ''}  ${t.manifestUrl ?? ''}`;
    console.log(`  ${state.padEnd(9)}  ${t.table.padEnd(width)}  ${what}`);
  }
  const failed =
    r.failed > 0
      ? `, ${r.failed} failed (the same export with --run-key ${r.runKey} retries only those)`
      : '';
  console.log(
    `exported ${r.completed} of ${r.tables.length} tables under runKey ${r.runKey}: ` +
      `${formatCount(r.rows)} rows (${formatBytes(r.bytes)})${r.skipped ? `, ${r.skipped} skipped` : ''}${failed}`,
  );
}
