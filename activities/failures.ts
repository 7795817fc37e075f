/**
 * Turns errors from src/ into Temporal failures: typed exporter errors keep their type and
 * details; PostgreSQL errors keep their SQLSTATE and are retried only when the SQLSTATE says a
 * retry can help; anything else (network, S3 5xx) is left to the retry policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, PgParquetError } from '../src/errors.js';
import { isPgDatabaseError, isRetryableSqlState } from '../src/postgres/sqlstate.js';

/** Maps an error thrown by src/ to what the activity should throw. */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof PgParquetError) {
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: !err.retryable,
      details: [err.details],
      cause: err,
    });
  }
  const coded = err as { code?: unknown; message?: unknown };
  if (typeof coded?.code === 'string' && coded.code.length > 0 && typeof coded.message === 'string') {
    // Typed errors of the decoder, introspection and destination parsing carry a `code` too.
    const mapped = CODE_TO_TYPE[coded.code];
    if (mapped) {
      return ApplicationFailure.create({
        type: mapped,
        message: coded.message,
        nonRetryable: true,
        details: [plainDetails(err)],
      });
    }
  }
  if (isPgDatabaseError(err)) {
    return ApplicationFailure.create({
      type: ErrorType.SourceError,
      message: `PostgreSQL error ${err.code}: ${err.message}`,
      nonRetryable: !isRetryableSqlState(err.code),
      details: [{ sqlState: err.code }],
    });
  }
  return err;
}

const CODE_TO_TYPE: Record<string, string> = {
  TABLE_NOT_FOUND: ErrorType.TableNotFound,
  UNSUPPORTED_VALUE: ErrorType.UnsupportedValue,
  INVALID_DESTINATION: ErrorType.InvalidDestination,
};

function plainDetails(err: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err as Record<string, unknown>)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v;
  }
  return out;
}

/** Runs `fn`, converting its errors with {@link toActivityFailure}. */
export async function withFailureMapping<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}
