/**
 * SQL text for extraction. COPY takes no bind parameters, so range bounds are embedded as
 * literals: they are validated integers (never user text), and identifiers are always quoted.
 */
import type { ColumnSpec } from '../arrow/column-spec.js';
import { cursorLiteralSql, type CursorKind } from './cursor-kind.js';
import { quoteIdent, quoteQualified } from '../contract/identifiers.js';

/** Session settings that make text casts (interval, inet, …) independent of server defaults. */
export const SESSION_SETTINGS_SQL =
  "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; " +
  'SET LOCAL extra_float_digits = 3';

/** A half-open cursor range with NULL handling, as planned. */
export interface CursorRange {
  readonly lo: string | null;
  readonly hi: string | null;
  readonly includesNulls: boolean;
}

/** What one extraction query reads. */
export interface ExtractQuery {
  readonly schema: string;
  readonly table: string;
  readonly cursor: string;
  readonly cursorKind: CursorKind;
  readonly columns: readonly ColumnSpec[];
  readonly where: string | null;
  readonly range: CursorRange;
}

/** The boolean condition selecting one range of the cursor (bounds in the cursor's integer form). */
export function rangeCondition(cursor: string, range: CursorRange, kind: CursorKind = 'integer'): string {
  const c = quoteIdent(cursor);
  const parts: string[] = [];
  if (range.lo !== null) parts.push(`${c} >= ${cursorLiteralSql(kind, range.lo)}`);
  if (range.hi !== null) parts.push(`${c} < ${cursorLiteralSql(kind, range.hi)}`);
  const bounded = parts.length > 0 ? parts.join(' AND ') : 'TRUE';
  if (range.includesNulls) return `(${c} IS NULL OR (${bounded}))`;
  return parts.length > 0 ? `(${bounded})` : `(${c} IS NOT NULL)`;
}

/** `SELECT … FROM … WHERE range AND (where) ORDER BY cursor` */
function selectSql(q: ExtractQuery): string {
  const list = q.columns.map((c) => c.selectExpr).join(', ');
  const filter = q.where === null ? '' : ` AND (${q.where})`;
  return (
    `SELECT ${list} FROM ${quoteQualified(q.schema, q.table)} ` +
    `WHERE ${rangeCondition(q.cursor, q.range, q.cursorKind)}${filter} ORDER BY ${quoteIdent(q.cursor)} NULLS FIRST`
  );
}

/** `COPY (SELECT …) TO STDOUT (FORMAT binary)` */
export function copySql(q: ExtractQuery): string {
  return `COPY (${selectSql(q)}) TO STDOUT (FORMAT binary)`;
}
