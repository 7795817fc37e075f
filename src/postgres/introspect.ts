/** Describes a relation's columns, with domains resolved to their base types. */
import type pg from 'pg';
import type { PgColumn } from '../arrow/column-spec.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { quoteQualified } from '../contract/identifiers.js';

/**
 * The relation does not exist (or is not visible to the connecting role): a terminal
 * `PgParquetTableNotFound` naming the `source.table` field.
 */
export class TableNotFoundError extends PgParquetError {
  constructor(readonly table: string) {
    super(ErrorType.TableNotFound, `invalid source.table: relation ${table} does not exist`, false, {
      field: 'source.table',
      value: table,
    });
  }
}

/** A row of pg_type, as far as type resolution needs it. */
interface TypeRow {
  oid: number;
  typname: string;
  typtype: string;
  typbasetype: number;
  typtypmod: number;
  typelem: number;
  typcategory: string;
}

/** OIDs are selected as int8 (an oid above 2^31 would wrap as int4), which pg returns as text. */
type Wire<T, K extends keyof T> = Omit<T, K> & { [P in K]: string };

interface AttributeRow {
  name: string;
  pg_type: string;
  typid: string;
  typmod: number;
  notnull: boolean;
}

/** Domains over domains are legal; a cycle is not, but never loop forever on a broken catalog. */
const MAX_DOMAIN_DEPTH = 64;

/**
 * Columns of `schema.table` in attnum order (dropped and system columns left out). Domains are
 * followed, recursively, to their base type; the first explicit typmod met on the way wins (a
 * column's own typmod, else the outermost domain's). Arrays get their element type resolved the
 * same way; an array of a domain over `numeric(10,2)` reports the element typmod in `typmod`.
 *
 * Three catalog queries whatever the column count: the relation, its attributes, and every type
 * reachable from them through domains and array elements (one recursive query).
 *
 * @throws TableNotFoundError when `schema.table` does not resolve (to_regclass is NULL).
 */
export async function describeTable(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<PgColumn[]> {
  // to_regclass parses a quoted, qualified name: no identifier is ever spliced into SQL.
  const rel = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::int8 AS oid', [
    quoteQualified(schema, table),
  ]);
  const relOid = rel.rows[0]?.oid;
  if (relOid === null || relOid === undefined) throw new TableNotFoundError(`${schema}.${table}`);

  const attrs = await client.query<AttributeRow>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS pg_type, atttypid::int8 AS typid,
            atttypmod AS typmod, attnotnull AS notnull
       FROM pg_attribute
      WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped
      ORDER BY attnum`,
    [relOid],
  );
  const types = await client.query<Wire<TypeRow, 'oid' | 'typbasetype' | 'typelem'>>(
    `WITH RECURSIVE reach(oid) AS (
        SELECT DISTINCT atttypid FROM pg_attribute
         WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped
        UNION
        SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END
          FROM reach r JOIN pg_type t ON t.oid = r.oid
         WHERE t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0)
      )
      SELECT t.oid::int8 AS oid, t.typname, t.typtype, t.typbasetype::int8 AS typbasetype, t.typtypmod,
             t.typelem::int8 AS typelem, t.typcategory
        FROM pg_type t JOIN reach r ON t.oid = r.oid`,
    [relOid],
  );
  const byOid = new Map<number, TypeRow>();
  for (const t of types.rows) {
    const row: TypeRow = {
      ...t,
      oid: Number(t.oid),
      typbasetype: Number(t.typbasetype),
      typelem: Number(t.typelem),
    };
    byOid.set(row.oid, row);
  }
  const lookup = (oid: number): TypeRow => {
    const row = byOid.get(oid);
    if (!row) throw new Error(`type ${oid} of ${schema}.${table} not found in pg_type`);
    return row;
  };
  const resolve = (oid: number, typmod: number): { row: TypeRow; typmod: number } => {
    let row = lookup(oid);
    let mod = typmod;
    for (let depth = 0; row.typtype === 'd'; depth++) {
      if (depth >= MAX_DOMAIN_DEPTH) throw new Error(`domain chain of type ${oid} is too deep`);
      if (mod === -1) mod = row.typtypmod;
      row = lookup(row.typbasetype);
    }
    return { row, typmod: mod };
  };

  return attrs.rows.map((a): PgColumn => {
    const { row, typmod } = resolve(Number(a.typid), a.typmod);
    const base = {
      name: a.name,
      pgType: a.pg_type,
      typeOid: row.oid,
      typeName: row.typname,
      typmod,
      typtype: row.typtype,
      notNull: a.notnull,
    };
    if (row.typcategory !== 'A' || row.typelem === 0) return { ...base, elementOid: 0 };
    // atttypmod of an array column is its elements' typmod; else an element domain may carry one.
    const element = resolve(row.typelem, typmod);
    return {
      ...base,
      typmod: element.typmod,
      elementOid: element.row.oid,
      elementTypeName: element.row.typname,
      elementTyptype: element.row.typtype,
    };
  });
}
