/**
 * Keyset cursors: a cursor of one or more columns of any btree-ordered type the exporter can
 * write back exactly (uuid, text-like, numeric, integers), compared as a row `(a, b) >= ($1, $2)`.
 *
 * A keyset value is a JSON array with one string per key column: the column's PostgreSQL text
 * output, which casts back (`'…'::<type>`) to a value equal to the original. It is what plans,
 * resume points (raw batch metadata) and the manifest store for such cursors, so bounds round-trip
 * exactly; the integer kinds of cursor-kind.ts keep their decimal-string form.
 */
import pg from 'pg';
import { quoteIdent } from '../contract/identifiers.js';

/** One column of a keyset cursor, as the plan stores it. */
export interface KeyColumn {
  readonly name: string;
  /** The type as format_type prints it (catalog text, quoted by PostgreSQL where needed): the cast back. */
  readonly pgType: string;
  /**
   * The collation the key is ordered by, as a quoted qualified name (`"pg_catalog"."C"`): the
   * unique index's, so that ranges, ORDER BY and the index scan agree. Null: not collatable.
   */
  readonly collation: string | null;
  readonly nullable: boolean;
}

/**
 * A cursor value: the integer form of cursor-kind.ts (a decimal string) or a keyset value (one
 * text per key column).
 */
export type CursorValue = string | readonly string[];

/** Whether two cursor values (or open bounds) are the same value. */
export function sameCursorValue(a: CursorValue | null, b: CursorValue | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A cursor value as one line of text (for messages and the Temporal UI's activity summary). */
export function cursorValueText(v: CursorValue | null, open: string): string {
  if (v === null) return open;
  return typeof v === 'string' ? v : v.length === 1 ? JSON.stringify(v[0]) : JSON.stringify(v);
}

/** A key column, collated, as a SQL operand (`"a" COLLATE "pg_catalog"."C"`). */
export function keyColumnSql(k: KeyColumn): string {
  return k.collation === null ? quoteIdent(k.name) : `${quoteIdent(k.name)} COLLATE ${k.collation}`;
}

/** `(a, b)` — a row for several columns, the column itself for one. */
function rowSql(parts: readonly string[]): string {
  return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

/** One key column's text as a typed SQL literal (COPY takes no parameters: literals, escaped). */
export function keyValueLiteral(k: KeyColumn, text: string): string {
  return `${pg.escapeLiteral(text)}::${k.pgType}`;
}

/** `(a, b) > (x, y)`: the rows after a position in a total order of operands. */
export function rowAfterSql(
  parts: readonly { readonly operand: string; readonly literal: string }[],
): string {
  return `${rowSql(parts.map((p) => p.operand))} > ${rowSql(parts.map((p) => p.literal))}`;
}

/** A keyset value as a SQL row of typed literals (COPY takes no parameters: literals, escaped). */
function keyLiteralSql(key: readonly KeyColumn[], value: CursorValue): string {
  if (typeof value === 'string' || value.length !== key.length) {
    throw new RangeError(`keyset bound ${JSON.stringify(value)} does not have ${key.length} values`);
  }
  return rowSql(value.map((v, i) => keyValueLiteral(key[i]!, v)));
}

/** A keyset range: `lo <= key < hi`, or `after < key < hi` when resuming; `null` bounds are open. */
export interface KeyRange {
  readonly lo: CursorValue | null;
  readonly hi: CursorValue | null;
  /** Exclusive lower bound that replaces `lo` (the last key a resumed partition already stored). */
  readonly after?: CursorValue | null;
  readonly includesNulls: boolean;
}

/** The boolean condition selecting one keyset range (a btree index range scan on the key). */
export function keyRangeCondition(key: readonly KeyColumn[], range: KeyRange): string {
  const row = rowSql(key.map(keyColumnSql));
  const parts: string[] = [];
  if (range.after !== undefined && range.after !== null)
    parts.push(`${row} > ${keyLiteralSql(key, range.after)}`);
  else if (range.lo !== null) parts.push(`${row} >= ${keyLiteralSql(key, range.lo)}`);
  if (range.hi !== null) parts.push(`${row} < ${keyLiteralSql(key, range.hi)}`);
  const bounded = parts.length > 0 ? parts.join(' AND ') : 'TRUE';
  // Only a one-column key may hold NULL (composite keys are primary keys: NOT NULL).
  const first = quoteIdent(key[0]!.name);
  if (range.includesNulls && key.length === 1) return `(${first} IS NULL OR (${bounded}))`;
  return `(${bounded})`;
}

/** `ORDER BY` items of the key, collated as the index (NULLS FIRST where NULLs are asked for). */
export function keyOrderSql(key: readonly KeyColumn[], nullsFirst: boolean): string {
  return key.map((k) => `${keyColumnSql(k)}${nullsFirst && k.nullable ? ' NULLS FIRST' : ''}`).join(', ');
}

/** SQL giving a row's keyset value as `text[]` (the JSON array form). */
export function keyTextSql(key: readonly KeyColumn[]): string {
  return `ARRAY[${key.map((k) => `${quoteIdent(k.name)}::text`).join(', ')}]::text[]`;
}
