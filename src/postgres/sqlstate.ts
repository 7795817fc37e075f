/**
 * Classification of PostgreSQL errors by SQLSTATE: which are worth retrying (the server or the
 * network had a problem) and which will fail again (the request is wrong).
 */

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
