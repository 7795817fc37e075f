/**
 * Cursor columns of several types, handled as integers everywhere else: integers as themselves,
 * dates as days since 1970-01-01, timestamps as microseconds since 1970-01-01 (UTC for
 * timestamptz). Planning, resume points and the manifest's cursor min/max use this form; these
 * helpers convert between it and SQL, exactly.
 */

/** The kinds of cursor the exporter can partition by. */
export type CursorKind = 'integer' | 'date' | 'timestamp' | 'timestamptz';

/** Cursor kind by the type OID of the column (after domains), or undefined when unsupported. */
export function cursorKindOf(typeOid: number): CursorKind | undefined {
  switch (typeOid) {
    case 20:
    case 21:
    case 23:
      return 'integer';
    case 1082:
      return 'date';
    case 1114:
      return 'timestamp';
    case 1184:
      return 'timestamptz';
    default:
      return undefined;
  }
}

/**
 * Whether a column of this type (OID after domains) can be a keyset cursor column
 * (src/postgres/cursor-key.ts): btree-ordered, with a text form that casts back to an equal
 * value, and decoded exactly so that a batch's last key can be read back from it. Floats are not
 * (NaN, and -0 = 0), nor json (no order), arrays, bytea, dates or timestamps (those are
 * integer-form cursors on their own; inside a composite key they are not supported yet).
 */
export function keyColumnAccepted(typeOid: number): boolean {
  return [20, 21, 23, 25, 1042, 1043, 1700, 2950].includes(typeOid);
}

/** The accepted cursor kinds, for error messages. */
export const ACCEPTED_CURSORS =
  'a column of type smallint, integer, bigint, date, timestamp or timestamptz (unique or not); ' +
  'uuid, text, varchar, char or numeric (ordered by their unique btree index, else with ties); ' +
  'or a composite primary key of such integer, uuid, text-like or numeric columns';

/** SQL type names of the kinds (for casting text such as histogram bounds). */
export const CURSOR_SQL_TYPE: Record<CursorKind, string> = {
  integer: 'int8',
  date: 'date',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
};

/** SQL giving the integer form (int8) of a cursor-typed expression. */
export function cursorValueSql(kind: CursorKind, expr: string): string {
  switch (kind) {
    case 'integer':
      return `(${expr})::int8`;
    case 'date':
      return `((${expr}) - date '1970-01-01')::int8`;
    case 'timestamp':
    case 'timestamptz':
      // extract(epoch) is numeric since PostgreSQL 14: exact to the microsecond.
      return `(extract(epoch from (${expr})) * 1000000)::int8`;
  }
}

const INTEGER = /^-?\d{1,20}$/;

/** SQL literal of the cursor's own type for an integer-form value (exact, no float arithmetic). */
export function cursorLiteralSql(kind: CursorKind, value: string): string {
  if (!INTEGER.test(value)) throw new RangeError(`cursor bound is not an integer: ${value}`);
  switch (kind) {
    case 'integer':
      // Quoted: a bare -9223372036854775808::int8 parses as -(9223372036854775808::int8) and overflows.
      return `'${value}'::int8`;
    case 'date':
      return `(date '1970-01-01' + '${value}'::int4)`;
    case 'timestamp':
    case 'timestamptz': {
      // Whole seconds and the remainder separately: each product stays exact in float8.
      const v = BigInt(value);
      const seconds = v / 1_000_000n;
      const micros = v % 1_000_000n;
      const epoch = kind === 'timestamp' ? "timestamp '1970-01-01'" : "timestamptz '1970-01-01 00:00:00+00'";
      return `(${epoch} + ${seconds} * interval '1 second' + ${micros} * interval '1 microsecond')`;
    }
  }
}
