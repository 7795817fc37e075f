/**
 * How the workflows turn errors into their own failure: input refused at the boundary, and an
 * activity's or child's typed failure surfaced with its own type. Deterministic helpers only.
 */
import { ApplicationFailure, TemporalFailure } from '@temporalio/workflow';
import { PgParquetError } from '../src/contract/errors.js';

/**
 * `resolve(raw)`, with a refused input turned into a non-retryable ApplicationFailure of the
 * error's type (its message and details name the field, the value and what is accepted).
 */
export function validated<I, O>(resolve: (raw: I) => O, raw: I): O {
  try {
    return resolve(raw);
  } catch (err) {
    if (err instanceof PgParquetError) {
      throw ApplicationFailure.create({
        type: err.type,
        message: err.message,
        nonRetryable: true,
        details: [err.details],
      });
    }
    throw err;
  }
}

/**
 * Fails the workflow with the activity's (or child's) own failure type and message, so that the
 * UI, the CLI and callers see `PgParquetTableNotFound: …` rather than a generic "activity failed".
 */
export function surfaceCause(err: unknown): unknown {
  if (err instanceof TemporalFailure && err.cause instanceof ApplicationFailure) {
    const cause = err.cause;
    return ApplicationFailure.create({
      type: cause.type ?? 'PgParquetActivityFailed',
      message: cause.message,
      nonRetryable: true,
      details: cause.details ? [...cause.details] : [],
      cause: err,
    });
  }
  return err;
}
