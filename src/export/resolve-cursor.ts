/**
 * Which cursor a run partitions and orders by: the named column, else the primary key whatever
 * its type or width. Integer, date and timestamp columns keep their integer form (cursor-kind.ts);
 * uuid, text-like and numeric columns and composite primary keys become keyset cursors
 * (cursor-key.ts), ordered by their btree index's collation. Anything else is refused, typed.
 */
import type pg from 'pg';
import type { PgColumn } from '../arrow/column-spec.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { quoteQualified } from '../contract/identifiers.js';
import { displayName, type QualifiedName } from '../contract/table-name.js';
import type { KeyColumn } from '../postgres/cursor-key.js';
import { ACCEPTED_CURSORS, cursorKindOf, keyColumnAccepted } from '../postgres/cursor-kind.js';
import type { PlanCursorKind } from '../postgres/copy-query.js';

/** The cursor of a plan. */
export interface ResolvedCursor {
  /** The cursor column (a composite key's leading column). */
  readonly cursor: string;
  /** Its PostgreSQL type; a composite key's types joined, e.g. `(integer, uuid)`. */
  readonly cursorPgType: string;
  readonly cursorKind: PlanCursorKind;
  /** The key columns of a keyset cursor; null for the integer kinds. */
  readonly key: readonly KeyColumn[] | null;
  /** Whether the cursor's values are unique (then a partition resumes after its last stored key). */
  readonly unique: boolean;
  /** Whether an index leads with the cursor (else every partition scans the table). */
  readonly indexed: boolean;
  /** ORDER BY columns after a non-unique cursor (primary key, else ctid); null when unique. */
  readonly tieBreaker: readonly string[] | null;
}

/** One column of an index, in key order, with the collation the index sorts it by. */
interface IndexColumn {
  readonly name: string;
  readonly collation: string | null;
}

/** Collation of index column `o` (1-based), as a quoted qualified name; null when not collatable. */
const INDEX_COLLATION_SQL = `(SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname)
           FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
          WHERE co.oid = i.indcollation[k.o - 1])`;

/** The primary key's key columns in order (empty when the table has none). */
async function primaryKey(client: pg.ClientBase, table: QualifiedName): Promise<IndexColumn[]> {
  const r = await client.query<IndexColumn>(
    `SELECT a.attname AS name, ${INDEX_COLLATION_SQL} AS collation
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, o)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary AND k.o <= i.indnkeyatts
      ORDER BY k.o`,
    [quoteQualified(table.schema, table.name)],
  );
  return r.rows;
}

/**
 * The best valid btree index leading with `column`: a unique one on exactly it first. Its
 * collation orders a keyset cursor; without an index, the column's own collation does.
 */
async function leadingIndex(
  client: pg.ClientBase,
  table: QualifiedName,
  column: string,
): Promise<{ indexed: boolean; unique: boolean; collation: string | null }> {
  // `k.o = 1`: the collation of the index's first column, through the same INDEX_COLLATION_SQL.
  const r = await client.query<{ unique: boolean; collation: string | null }>(
    `SELECT i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AS unique,
            ${INDEX_COLLATION_SQL} AS collation
       FROM pg_index i CROSS JOIN LATERAL (SELECT 1 AS o) k
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
      WHERE i.indrelid = to_regclass($1) AND a.attname = $2 AND i.indisvalid AND am.amname = 'btree'
      ORDER BY 1 DESC LIMIT 1`,
    [quoteQualified(table.schema, table.name), column],
  );
  const index = r.rows[0];
  if (index) return { indexed: true, ...index };
  const own = await client.query<{ collation: string | null }>(
    `SELECT (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname)
               FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
              WHERE co.oid = a.attcollation) AS collation
       FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2`,
    [quoteQualified(table.schema, table.name), column],
  );
  return { indexed: false, unique: false, collation: own.rows[0]?.collation ?? null };
}

/** The typed refusal of a column that cannot be a cursor. */
function unsupported(table: QualifiedName, column: PgColumn, within?: string): PgParquetError {
  const where = within ? ` (in the primary key ${within})` : '';
  return new PgParquetError(
    ErrorType.UnsupportedCursor,
    `invalid source.cursor: column "${column.name}" of ${displayName(table)}${where} has type ${column.pgType}, ` +
      `which has no order the exporter can range and resume by; accepted: ${ACCEPTED_CURSORS}`,
    false,
    { field: 'source.cursor', value: column.name, pgType: column.pgType, accepted: ACCEPTED_CURSORS },
  );
}

function keyColumn(column: PgColumn, collation: string | null): KeyColumn {
  return { name: column.name, pgType: column.pgType, collation, nullable: !column.notNull };
}

/**
 * The run's cursor: `requested` (a column name) or, when null, the primary key. A table without
 * one (or `requested` "ctid") is read by heap page ranges when `inSnapshot` (the run reads one
 * snapshot, strictly: rows do not move inside it); else it is refused.
 *
 * @throws PgParquetError `PgParquetUnsupportedCursor` (a type without a usable order, or no
 *   primary key to default to), `PgParquetColumnNotFound` through `notFound`.
 */
export async function resolveCursor(
  client: pg.ClientBase,
  table: QualifiedName,
  requested: string | null,
  all: readonly PgColumn[],
  notFound: (name: string) => Error,
  inSnapshot: boolean,
): Promise<ResolvedCursor> {
  const pk = await primaryKey(client, table);
  const wantsCtid = requested === 'ctid' && !all.some((c) => c.name === 'ctid');
  if ((requested === null && pk.length === 0) || wantsCtid) {
    if (inSnapshot) {
      return {
        cursor: 'ctid',
        cursorPgType: 'tid',
        cursorKind: 'ctid',
        key: null,
        unique: false,
        indexed: true,
        tieBreaker: null,
      };
    }
    const accepted = `name a cursor column in source.cursor (${ACCEPTED_CURSORS}), or set consistency: "snapshot" to export it by ctid page ranges`;
    throw new PgParquetError(
      ErrorType.UnsupportedCursor,
      `${wantsCtid ? 'source.cursor is "ctid"' : `source.cursor is null and ${displayName(table)} has no primary key`}, ` +
        `and the run does not read one snapshot (consistency is not "snapshot": rows move between page ranges ` +
        `when they are updated); accepted: ${accepted}`,
      false,
      { field: 'source.cursor', value: requested, consistency: 'not "snapshot"', accepted },
    );
  }
  const column = (name: string): PgColumn => {
    const c = all.find((x) => x.name === name);
    if (!c) throw notFound(name);
    return c;
  };
  if (requested === null && pk.length > 1) {
    const cols = pk.map((k) => column(k.name));
    const names = `(${pk.map((k) => k.name).join(', ')})`;
    for (const c of cols) if (!keyColumnAccepted(c.typeOid)) throw unsupported(table, c, names);
    return {
      cursor: pk[0]!.name,
      cursorPgType: `(${cols.map((c) => c.pgType).join(', ')})`,
      cursorKind: 'keyset',
      key: cols.map((c, i) => keyColumn(c, pk[i]!.collation)),
      unique: true,
      indexed: true,
      tieBreaker: null,
    };
  }
  const name = requested ?? pk[0]!.name;
  const c = column(name);
  const index = await leadingIndex(client, table, name);
  // The primary key is unique whatever index leadingIndex found first.
  const unique = index.unique || (pk.length === 1 && pk[0]!.name === name);
  const kind = cursorKindOf(c.typeOid);
  if (!kind && !keyColumnAccepted(c.typeOid)) throw unsupported(table, c);
  // Ties of a non-unique cursor are ordered by the primary key, else by the row's place (ctid).
  const tieBreaker = unique ? null : pk.length > 0 ? pk.map((k) => k.name) : ['ctid'];
  return {
    cursor: name,
    cursorPgType: c.pgType,
    cursorKind: kind ?? 'keyset',
    key: kind ? null : [keyColumn(c, index.collation)],
    unique,
    indexed: index.indexed,
    tieBreaker,
  };
}
