/**
 * The one place where an error that src/ did not raise itself (node-postgres, the network, a bug)
 * gets a failure type and a retry class, so the activity boundary only ever sees a
 * {@link PgParquetError}.
 */
import { ErrorType, PgParquetError } from './contract/errors.js';
import { isPgDatabaseError, isRetryableSqlState } from './postgres/sqlstate.js';

/** Socket-level errno codes: the peer (in practice the database; stores wrap their own) was unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * node-postgres' own messages (pg/lib/client.js) for a connection that is gone: the backend went
 * away mid-session, or a query was sent on a client whose connection had already failed or closed
 * (a second query of an activity after a restart of PostgreSQL), or connecting timed out. They
 * carry no code.
 */
const LOST_CONNECTION =
  /^(Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout expired$)/;

/**
 * `err` as a typed error: a {@link PgParquetError} as it is; a PostgreSQL error as
 * `PgParquetSourceError`, retryable by its SQLSTATE class; a lost or refused connection as the
 * transient `PgParquetSourceUnavailable`; anything else as the transient `PgParquetInternal`
 * (left to the retry policy, as an unknown error should be).
 */
export function asPgParquetError(err: unknown): PgParquetError {
  if (err instanceof PgParquetError) return err;
  if (isPgDatabaseError(err)) {
    return new PgParquetError(
      ErrorType.SourceError,
      `PostgreSQL error ${err.code}: ${err.message}`,
      isRetryableSqlState(err.code),
      { sqlState: err.code },
    );
  }
  const e = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? e.code : undefined;
  if ((code !== undefined && NETWORK_CODES.has(code)) || LOST_CONNECTION.test(message)) {
    return new PgParquetError(
      ErrorType.SourceUnavailable,
      `the database connection failed: ${message}`,
      true,
      code === undefined ? {} : { code },
    );
  }
  return new PgParquetError(ErrorType.Internal, `${name}: ${message}`, true, { name });
}
