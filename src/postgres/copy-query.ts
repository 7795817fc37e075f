/**
 * SQL text for extraction. COPY takes no bind parameters, so range bounds are embedded as
 * literals: they are validated integers (never user text), and identifiers are always quoted.
 */
import type { ColumnSpec } from '../arrow/column-spec.js';
import { cursorLiteralSql, type CursorKind } from './cursor-kind.js';
import {
  keyColumnSql,
  keyOrderSql,
  keyRangeCondition,
  keyValueLiteral,
  rowAfterSql,
  type CursorValue,
  type KeyColumn,
} from './cursor-key.js';
import { quoteIdent, quoteQualified } from '../contract/identifiers.js';
import type { WatermarkRange } from '../contract/incremental.js';
import { watermarkCondition } from './watermark.js';

/**
 * Session settings of an extraction: text casts (interval, inet, …) independent of server
 * defaults; and no parallel workers or JIT for a query that is one index range scan — the export
 * already runs partitions in parallel, and a Gather over two more workers (plus JIT compilation)
 * only took CPU from them (measured: PostgreSQL's CPU per exported row about halved).
 */
export const SESSION_SETTINGS_SQL =
  "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; " +
  'SET LOCAL extra_float_digits = 3; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off';

/** A half-open cursor range with NULL handling, as planned. */
export interface CursorRange {
  readonly lo: CursorValue | null;
  readonly hi: CursorValue | null;
  /**
   * Keyset cursors only: an exclusive lower bound replacing `lo` (a resumed partition's last
   * stored key). Integer-form cursors resume at `lo = last + 1` instead.
   */
  readonly after?: CursorValue | null;
  readonly includesNulls: boolean;
}

/** Every kind of cursor a plan can have. */
export type PlanCursorKind = CursorKind | 'keyset' | 'ctid';

/**
 * `ctid >= '(lo,0)' AND ctid < '(hi,0)'`: whole heap pages `lo <= page < hi`, a TID Range Scan
 * from PostgreSQL 14 (a sequential scan with a filter before). No row has a NULL ctid.
 */
function ctidRangeCondition(range: CursorRange): string {
  const page = (v: CursorValue) => `'(${integerBound(v)},0)'::tid`;
  const parts: string[] = [];
  if (range.lo !== null) parts.push(`ctid >= ${page(range.lo)}`);
  if (range.hi !== null) parts.push(`ctid < ${page(range.hi)}`);
  return parts.length > 0 ? `(${parts.join(' AND ')})` : 'TRUE';
}

/** How a plan orders and ranges its rows: the cursor, its kind and, for keysets, its columns. */
export interface CursorOrder {
  readonly cursor: string;
  /**
   * `keyset`: the cursor is `key` (src/postgres/cursor-key.ts); `ctid`: ranges of heap pages
   * (bounds are page numbers, exact only inside one snapshot); else an integer-form kind.
   */
  readonly cursorKind: PlanCursorKind;
  readonly key?: readonly KeyColumn[] | null;
  /**
   * Columns appended to the ORDER BY after a non-unique cursor (the primary key, or `ctid`), so
   * that rows with equal cursors always come in the same order and a re-run is byte-identical.
   */
  readonly tieBreaker?: readonly string[] | null;
  /**
   * The tie-breaker's columns with their types, when a non-unique cursor resumes mid-partition:
   * then `after` of a range is the cursor's value followed by these columns' texts.
   */
  readonly tieKey?: readonly KeyColumn[] | null;
}

/** What one extraction query reads. */
export interface ExtractQuery extends CursorOrder {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly ColumnSpec[];
  readonly where: string | null;
  /** An incremental run's watermark range (absent or null: a full run). */
  readonly watermark?: WatermarkRange | null;
  readonly range: CursorRange;
  /**
   * False when the cursor column cannot hold NULL (a primary key): then no range looks for NULLs,
   * which keeps even the first range an index range scan (`c IS NULL OR c < x` is a sequential
   * scan and a sort). Absent means it may.
   */
  readonly cursorNullable?: boolean;
}

/** The boolean condition selecting one range of a plan's cursor, whatever its kind. */
export function cursorRangeCondition(order: CursorOrder, range: CursorRange): string {
  if (order.tieKey && range.after) return tieResumeCondition(order, order.tieKey, range.after, range.hi);
  if (order.cursorKind === 'ctid') return ctidRangeCondition(range);
  if (order.cursorKind !== 'keyset') return rangeCondition(order.cursor, range, order.cursorKind);
  if (!order.key) throw new RangeError('a keyset cursor needs its key columns');
  return keyRangeCondition(order.key, range);
}

/**
 * The rest of a range of a non-unique cursor after a stored row: `(cursor, tie…) > (v, t…)`,
 * the order of the COPY's `ORDER BY`, below the range's upper bound.
 */
function tieResumeCondition(
  order: CursorOrder,
  tieKey: readonly KeyColumn[],
  after: CursorValue,
  hi: CursorValue | null,
): string {
  if (typeof after === 'string') throw new RangeError('a tie-broken resume point is an array');
  const cursorParts =
    order.cursorKind === 'keyset' && order.key
      ? order.key.map((k, i) => ({ operand: keyColumnSql(k), literal: keyValueLiteral(k, after[i]!) }))
      : [
          {
            operand: quoteIdent(order.cursor),
            literal: cursorLiteralSql(integerCursorKind(order.cursorKind), after[0]!),
          },
        ];
  const ties = tieKey.map((k, j) => ({
    operand: quoteIdent(k.name),
    literal: keyValueLiteral(k, after[cursorParts.length + j]!),
  }));
  if (after.length !== cursorParts.length + ties.length) {
    throw new RangeError(
      `resume point ${JSON.stringify(after)} does not match the cursor and its tie-breaker`,
    );
  }
  const below = cursorRangeCondition({ ...order, tieKey: null }, { lo: null, hi, includesNulls: false });
  return `(${rowAfterSql([...cursorParts, ...ties])} AND ${below})`;
}

function integerCursorKind(kind: PlanCursorKind): CursorKind {
  if (kind === 'keyset' || kind === 'ctid') throw new RangeError(`a ${kind} cursor has no integer form`);
  return kind;
}

/** Integer form of a bound: keyset values never reach the integer kinds. */
function integerBound(v: CursorValue): string {
  if (typeof v !== 'string') throw new RangeError(`cursor bound ${JSON.stringify(v)} is not an integer`);
  return v;
}

/** The boolean condition selecting one range of the cursor (bounds in the cursor's integer form). */
export function rangeCondition(cursor: string, range: CursorRange, kind: CursorKind = 'integer'): string {
  const c = quoteIdent(cursor);
  const parts: string[] = [];
  if (range.lo !== null) parts.push(`${c} >= ${cursorLiteralSql(kind, integerBound(range.lo))}`);
  if (range.hi !== null) parts.push(`${c} < ${cursorLiteralSql(kind, integerBound(range.hi))}`);
  const bounded = parts.length > 0 ? parts.join(' AND ') : 'TRUE';
  if (range.includesNulls) return `(${c} IS NULL OR (${bounded}))`;
  return parts.length > 0 ? `(${bounded})` : `(${c} IS NOT NULL)`;
}

/** The rows a run exports, whatever the partition: the user's `where` and the watermark range. */
export interface RowFilter {
  readonly where: string | null;
  readonly watermark?: WatermarkRange | null;
}

/** The boolean condition of a {@link RowFilter}, or null when it selects every row. */
export function rowFilterSql(f: RowFilter): string | null {
  const parts = [
    ...(f.where === null ? [] : [`(${f.where})`]),
    ...(f.watermark ? [watermarkCondition(f.watermark)] : []),
  ];
  return parts.length > 0 ? parts.join(' AND ') : null;
}

/**
 * `SELECT … FROM … WHERE range AND (where) AND watermark ORDER BY cursor`. NULL cursors come
 * first, so only the range that holds them asks for `NULLS FIRST`: every other range has no NULL,
 * and there a plain `ORDER BY` (NULLS LAST, the btree's own order) is the same order and reads the
 * index in order instead of sorting the range.
 */
function selectSql(q: ExtractQuery): string {
  const list = q.columns.map((c) => c.selectExpr).join(', ');
  const rows = rowFilterSql(q);
  const filter = rows === null ? '' : ` AND ${rows}`;
  const range = q.cursorNullable === false ? { ...q.range, includesNulls: false } : q.range;
  const nulls = range.includesNulls ? ' NULLS FIRST' : '';
  const order =
    q.cursorKind === 'ctid'
      ? 'ctid'
      : q.cursorKind === 'keyset' && q.key
        ? keyOrderSql(q.key, range.includesNulls)
        : `${quoteIdent(q.cursor)}${nulls}`;
  // `"ctid"` is still the system column: no user column can take its name.
  const ties = (q.tieBreaker ?? []).map(quoteIdent);
  return (
    `SELECT ${list} FROM ${quoteQualified(q.schema, q.table)} ` +
    `WHERE ${cursorRangeCondition(q, range)}${filter} ORDER BY ${[order, ...ties].join(', ')}`
  );
}

/** `COPY (SELECT …) TO STDOUT (FORMAT binary)` */
export function copySql(q: ExtractQuery): string {
  return `COPY (${selectSql(q)}) TO STDOUT (FORMAT binary)`;
}
