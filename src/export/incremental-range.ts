/**
 * The watermark range of an incremental run: planned once (from the destination's last successful
 * run and the high-water read inside the planning transaction), reused as stored by every re-run,
 * and checked against the table's other successful runs before a run is reused and before its
 * `_SUCCESS`, so that the ranges of successful runs stay contiguous and never overlap.
 */
import type pg from 'pg';
import type { PgColumn } from '../arrow/column-spec.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import type { WatermarkRange, WatermarkSpec } from '../contract/incremental.js';
import { displayName, type QualifiedName } from '../contract/table-name.js';
import {
  chainProblem,
  highWater,
  watermarkKindOf,
  watermarkRangeOf,
  type PlannedWatermark,
} from '../plan/watermark.js';
import { cursorKindOf } from '../postgres/cursor-kind.js';
import { readHighWater } from '../postgres/watermark.js';
import { successfulNeighbours, type TableLocation } from '../run/run-history.js';
import type { RunPlan } from '../run/run-plan.js';

/** What {@link planWatermark} needs. */
export interface PlanWatermarkInput extends TableLocation {
  /** The planning transaction: the high-water is read in it (and so in its snapshot). */
  readonly client: pg.ClientBase;
  readonly runKey: string;
  readonly spec: WatermarkSpec;
  /** The watermark column as introspection describes it. */
  readonly column: PgColumn;
}

/**
 * The range of a new incremental run: from the `to` of the newest successful incremental run with
 * a smaller runKey (none: from the beginning) to the high-water of the column now, less the lag.
 * @throws PgParquetError `PgParquetUnsupportedWatermark` for a column that cannot be a watermark,
 *   `PgParquetInvalidInput` for a lag that does not fit it, `PgParquetWatermarkConflict` when a
 *   run with a greater runKey already succeeded or the previous runs used another column.
 */
export async function planWatermark(q: PlanWatermarkInput): Promise<PlannedWatermark> {
  const kind = watermarkKindOf({
    name: q.column.name,
    pgType: q.column.pgType,
    cursorKind: cursorKindOf(q.column.typeOid),
    lag: q.spec.lag,
  });
  const { previous, next } = await successfulNeighbours(q);
  if (next) {
    throw conflict({
      ...q,
      why: `run ${next.runKey}, with a greater runKey, already succeeded: a range planned now would overlap it`,
      accepted: `a runKey after ${next.runKey} (incremental runs of a table go in runKey order)`,
    });
  }
  if (previous && previous.watermark.column !== q.spec.column) {
    throw conflict({
      ...q,
      why: `the previous successful run ${previous.runKey} used the watermark column "${previous.watermark.column}"`,
      accepted: `incremental.column "${previous.watermark.column}", or another destination for a new chain of runs`,
      field: 'incremental.column',
      value: q.spec.column,
    });
  }
  const from = previous?.watermark.to ?? null;
  const reading = await readHighWater(q.client, { table: q.table, column: q.spec.column, kind });
  return {
    column: q.spec.column,
    pgType: q.column.pgType,
    kind,
    from,
    to: highWater({ kind, from, highest: reading.highest, now: reading.now, lag: q.spec.lag }),
    previousRunKey: previous?.runKey ?? null,
    highest: reading.highest,
    lag: q.spec.lag,
  };
}

/**
 * A re-run of a planned runKey: the input must ask for the mode and column it was planned with,
 * and its stored range must still fit between the table's successful runs (else it was superseded
 * while unfinished, and finishing it would export rows a later run exported too).
 */
export async function checkStoredWatermark(
  at: Omit<TableLocation, 'table'> & { readonly plan: RunPlan; readonly spec: WatermarkSpec | null },
): Promise<void> {
  const planned = at.plan.watermark ?? null;
  if ((planned?.column ?? null) !== (at.spec?.column ?? null)) {
    const was = planned ? `incremental by "${planned.column}"` : 'full';
    throw new PgParquetError(
      ErrorType.PlanMismatch,
      `run ${at.plan.runKey} of ${displayName(at.plan.table)} was planned ${was}; accepted: the same mode ` +
        'and incremental.column, or a new runKey',
      false,
      { field: planned ? 'incremental.column' : 'mode', value: at.spec?.column ?? 'full', planned: was },
    );
  }
  if (planned) await checkWatermarkChain({ store: at.store, plan: at.plan, watermark: planned });
}

/**
 * Refuses, with `PgParquetWatermarkConflict`, a run whose range overlaps a successful run's (see
 * {@link chainProblem}). Called before a stored plan is reused and before `_SUCCESS` is written.
 */
export async function checkWatermarkChain(
  at: Omit<TableLocation, 'table'> & { readonly plan: RunPlan; readonly watermark: WatermarkRange },
): Promise<void> {
  const { table, runKey } = at.plan;
  const { previous, next } = await successfulNeighbours({ store: at.store, table, runKey });
  const problem = chainProblem(watermarkRangeOf(at.watermark), previous, next);
  if (problem) {
    throw conflict({
      table,
      runKey,
      why: problem,
      accepted: 'a new runKey after the last successful run (this one was superseded)',
    });
  }
}

/** A `PgParquetWatermarkConflict` about `field` (default: the runKey) of the run. */
function conflict(c: {
  readonly table: QualifiedName;
  readonly runKey: string;
  readonly why: string;
  readonly accepted: string;
  readonly field?: string;
  readonly value?: string;
}): PgParquetError {
  return new PgParquetError(
    ErrorType.WatermarkConflict,
    `incremental run ${c.runKey} of ${displayName(c.table)}: ${c.why}; accepted: ${c.accepted}`,
    false,
    { field: c.field ?? 'runKey', value: c.value ?? c.runKey, accepted: c.accepted },
  );
}
