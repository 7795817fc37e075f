/**
 * The binary COPY decoder's errors: a stream that is not well-formed (retryable: from a live
 * server it is one cut short) and a value Parquet cannot hold as typed (terminal, names the
 * option that would accept it).
 */
import { ErrorType, PgParquetError } from '../contract/errors.js';

/**
 * The option names that would accept values Parquet cannot hold as typed. The decoder only names
 * them; the export input decides which exist.
 */
export const UNSUPPORTED_VALUE_OPTIONS = {
  /** date/timestamp ±infinity. */
  infinity: 'transform.infinity',
  /** numeric NaN/±Infinity, or a value beyond the column's precision, in a Decimal128 column. */
  numericAsString: 'transform.numericAsString',
  /** A timestamp beyond the int64 microsecond range (after year 294246): milliseconds hold it. */
  timestampUnit: 'transform.timestampUnit',
  /** A multi-dimensional value in an array column exported as a List. */
  arraysAsText: 'transform.arraysAsText',
} as const;

/**
 * A value Parquet cannot hold as typed (an infinite date or timestamp, NaN or an out-of-range
 * numeric in a decimal column, a multi-dimensional array in a List column). Names the table,
 * column, value, the row's cursor value and the option that would accept it. Non-retryable.
 */
export class UnsupportedValueError extends PgParquetError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly pgType: string,
    /** The value as PostgreSQL would print it (`infinity`, `NaN`, …) or a description. */
    readonly value: string,
    /** The failing row's cursor value (integer form, as in `DecodedBatch`), null if NULL/none. */
    readonly cursor: string | null,
    /** The option that would accept the value (see {@link UNSUPPORTED_VALUE_OPTIONS}). */
    readonly option: string,
  ) {
    super(
      ErrorType.UnsupportedValue,
      `${table}: column ${column} (${pgType}) holds ${value} at cursor ${cursor ?? 'NULL'}, which Parquet ` +
        `cannot store as ${pgType}; the option ${option} would accept it (or exclude such rows with ` +
        `source.where, or cast the column in a view)`,
      false,
      { table, column, pgType, value, cursor, option },
    );
  }
}

/** The bytes are not a well-formed binary COPY stream for these columns, or it ended early. */
export class CopyFormatError extends PgParquetError {
  constructor(message: string) {
    // Transient: from a live server this is a stream cut short; a retry reads it again.
    super(ErrorType.CopyFormat, message, true);
  }
}

/**
 * Thrown by value codecs; the row loop (copy-framing.ts) turns it into an
 * {@link UnsupportedValueError} once the whole row, and so its cursor value, is at hand. Not an
 * error users see: it carries no table, column or cursor.
 */
export class ValueProblem extends Error {
  constructor(
    /** The value as PostgreSQL would print it, or a description. */
    readonly value: string,
    /** The option that would accept it (see {@link UNSUPPORTED_VALUE_OPTIONS}). */
    readonly option: string,
  ) {
    super(value);
  }
}
