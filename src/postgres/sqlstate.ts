/**
 * Classification of PostgreSQL errors by SQLSTATE: which are worth retrying (the server or the
 * network had a problem) and which will fail again (the request is wrong).
 */
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** A PostgreSQL error as node-postgres reports it. */
export interface PgDatabaseErrorLike {
  readonly code: string;
  readonly message: string;
}

/** True for errors node-postgres raises from the server (they carry a five-character SQLSTATE). */
export function isPgDatabaseError(err: unknown): err is PgDatabaseErrorLike & Error {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((err as unknown as { code: string }).code) &&
    typeof (err as { severity?: unknown }).severity === 'string'
  );
}

/** SQLSTATE classes and codes after which a retry can succeed. */
const RETRYABLE_CLASSES = new Set(['08', '40', '53', '55', '57', '58', 'XX']);
/** Codes within retryable classes that will not heal by themselves. */
const TERMINAL_CODES = new Set([
  '57P04' /* database_dropped */,
  '55000' /* object_not_in_prerequisite_state */,
]);

/** Whether an error with this SQLSTATE is worth retrying. */
export function isRetryableSqlState(code: string): boolean {
  if (TERMINAL_CODES.has(code)) return false;
  return RETRYABLE_CLASSES.has(code.slice(0, 2));
}

/** Names of the data exceptions a filter typically raises, for messages (never the row's value). */
const DATA_EXCEPTIONS: Record<string, string> = {
  '22012': 'division by zero',
  '22P02': 'a value that does not convert to the type it is cast to',
  '22003': 'a numeric value out of range',
  '22007': 'an invalid date or time format',
  '22008': 'a date or time value out of range',
  '22023': 'an invalid parameter value',
  '2201B': 'an invalid regular expression',
  '22004': 'a NULL value not allowed',
  '22001': 'a string too long for its type',
};

/**
 * A data exception (SQLSTATE class 22: division by zero, a bad cast, …) raised while a query with
 * the user's `where` filter ran over the rows, as the terminal `PgParquetInvalidWhere` naming
 * `source.where`; undefined for any other error. PostgreSQL's own message is left out: it can
 * quote the row's value (`invalid input syntax for type integer: "…"`).
 */
export function whereDataError(err: unknown, where: string | null): PgParquetError | undefined {
  if (where === null || !isPgDatabaseError(err) || !err.code.startsWith('22')) return undefined;
  const what = DATA_EXCEPTIONS[err.code] ?? 'a data exception';
  return new PgParquetError(
    ErrorType.InvalidWhere,
    `invalid source.where: ${JSON.stringify(where)} raised ${what} (SQLSTATE ${err.code}) on a row of ` +
      'the table; accepted: a boolean expression that evaluates without error on every row (guard ' +
      'divisions and casts, e.g. with NULLIF or CASE)',
    false,
    { field: 'source.where', value: where, sqlState: err.code },
  );
}
