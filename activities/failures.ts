/**
 * The activity boundary's error mapping, in two branches: a failure Temporal itself made
 * (cancellation, a failure of a nested call) passes unchanged; every other error becomes an
 * ApplicationFailure of its PgParquet type, non-retryable exactly when a retry cannot help.
 */
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { asPgParquetError } from '../src/failure.js';

/** Maps an error thrown by src/ to what the activity should throw. */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof TemporalFailure) return err;
  const e = asPgParquetError(err);
  return ApplicationFailure.create({
    type: e.type,
    message: e.message,
    nonRetryable: !e.retryable,
    details: [e.details],
  });
}

/** Runs `fn`, converting its errors with {@link toActivityFailure}. */
export async function withFailureMapping<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}
