/** Describes a relation's columns, with domains resolved to their base types. */
import type pg from 'pg';
import type { PgColumn } from '../arrow/column-spec.js';
import { ErrorType, PgParquetError } from '../errors.js';
import { quoteQualified } from './identifiers.js';

/** The relation does not exist (or is not visible to the connecting role). */
export class TableNotFoundError extends PgParquetError {
  readonly code = 'TABLE_NOT_FOUND';
  constructor(readonly table: string) {
    super(ErrorType.TableNotFound, `invalid source.table: relation ${table} does not exist`, false, {
      field: 'source.table',
      value: table,
    });
  }
}

interface TypeRow {
  oid: number;
  typtype: string;
  typbasetype: number;
  typtypmod: number;
  typelem: number;
  typcategory: string;
  typname: string;
}

/**
 * Columns of `schema.table` in attnum order. Domains are followed to their base type (keeping
 * the innermost explicit typmod), and so are arrays' element types.
 */
export async function describeTable(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<PgColumn[]> {
  const qualified = quoteQualified(schema, table);
  const rel = await client.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [qualified]);
  const oid = rel.rows[0]?.oid;
  if (oid === null || oid === undefined) throw new TableNotFoundError(`${schema}.${table}`);
  const cols = await client.query<{
    name: string;
    pg_type: string;
    typid: number;
    typmod: number;
    notnull: boolean;
  }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS pg_type, atttypid::int AS typid,
            atttypmod AS typmod, attnotnull AS notnull
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [oid],
  );
  const cache = new Map<number, TypeRow>();
  const typeRow = async (typeOid: number): Promise<TypeRow> => {
    let row = cache.get(typeOid);
    if (!row) {
      const r = await client.query<TypeRow>(
        `SELECT oid::int AS oid, typtype, typbasetype::int AS typbasetype, typtypmod, typelem::int AS typelem,
                typcategory, typname FROM pg_type WHERE oid = $1`,
        [typeOid],
      );
      row = r.rows[0];
      if (!row) throw new Error(`type ${typeOid} not found in pg_type`);
      cache.set(typeOid, row);
    }
    return row;
  };
  const resolve = async (typeOid: number, typmod: number): Promise<{ row: TypeRow; typmod: number }> => {
    let row = await typeRow(typeOid);
    let mod = typmod;
    for (let depth = 0; row.typtype === 'd' && depth < 32; depth++) {
      if (mod === -1) mod = row.typtypmod;
      row = await typeRow(row.typbasetype);
    }
    return { row, typmod: mod };
  };
  const out: PgColumn[] = [];
  for (const c of cols.rows) {
    const { row, typmod } = await resolve(c.typid, c.typmod);
    let elementOid = 0;
    if (row.typcategory === 'A' && row.typelem !== 0) {
      elementOid = (await resolve(row.typelem, -1)).row.oid;
    }
    out.push({
      name: c.name,
      pgType: c.pg_type,
      typeOid: row.oid,
      typeName: row.typname,
      typmod,
      typtype: row.typtype,
      elementOid,
      notNull: c.notnull,
    });
  }
  return out;
}
