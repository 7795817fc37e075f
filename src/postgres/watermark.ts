/**
 * Incremental runs in SQL: the condition that selects a run's watermark range, and the query that
 * reads the high-water inside the planning transaction. Bounds are validated integers in the
 * cursor's integer form, written as literals of the column's own type (COPY takes no bind
 * parameters); the column is always quoted.
 */
import type pg from 'pg';
import { quoteIdent, quoteQualified } from '../contract/identifiers.js';
import type { QualifiedName } from '../contract/table-name.js';
import type { WatermarkKind, WatermarkRange } from '../contract/incremental.js';
import { cursorLiteralSql, cursorValueSql } from './cursor-kind.js';

/**
 * `("col" > from AND "col" <= to)`; without `from` only the upper bound; `FALSE` when `to` is null
 * (nothing to export yet). Rows whose watermark is NULL are never selected.
 */
export function watermarkCondition(range: WatermarkRange): string {
  if (range.to === null) return 'FALSE';
  const c = quoteIdent(range.column);
  const upper = `${c} <= ${cursorLiteralSql(range.kind, range.to)}`;
  if (range.from === null) return `(${upper})`;
  return `(${c} > ${cursorLiteralSql(range.kind, range.from)} AND ${upper})`;
}

/** The column's largest value and the transaction's time, in the integer form. */
export interface HighWaterReading {
  readonly highest: string | null;
  /** `now()` (timestamptz) or `localtimestamp` (timestamp) of the transaction; null for integers. */
  readonly now: string | null;
}

/**
 * Reads `max(column)` and the transaction's time with `client`, inside whatever transaction (and
 * snapshot) the caller has open: planning's, so the high-water is what the run's snapshot sees.
 * The whole table's maximum, not the filtered one: `where` narrows what a run exports, not how far
 * the table has advanced (and `max` over an index on the column is one index probe).
 */
export async function readHighWater(
  client: pg.ClientBase,
  q: { readonly table: QualifiedName; readonly column: string; readonly kind: WatermarkKind },
): Promise<HighWaterReading> {
  const now =
    q.kind === 'integer'
      ? 'NULL'
      : cursorValueSql(q.kind, q.kind === 'timestamptz' ? 'now()' : 'localtimestamp');
  const r = await client.query<{ highest: string | null; now: string | null }>(
    `SELECT ${cursorValueSql(q.kind, `max(${quoteIdent(q.column)})`)}::text AS highest,
            ${now}::text AS now
       FROM ${quoteQualified(q.table.schema, q.table.name)}`,
  );
  return { highest: r.rows[0]?.highest ?? null, now: r.rows[0]?.now ?? null };
}
