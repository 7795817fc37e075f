/**
 * How the CLI reports a failure: the error's type and message (on stderr, or as JSON on stdout
 * with `--json`), and the exit code: 2 for usage errors (bad flags or input, refused before
 * anything starts), 1 for everything else, 130 for an interrupted wait.
 */
import {
  ApplicationFailure,
  CancelledFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowFailedError,
} from '@temporalio/client';
import { CommanderError } from 'commander';
import { ErrorType, InputError, PgParquetError } from '../contract/errors.js';

/** Exit codes of `pg-parquet`. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const;

/** A failure's type (one of the package's ErrorType values, or Temporal's failure name) and message. */
export interface FailureSummary {
  readonly type: string;
  readonly message: string;
  /** For bad input: the flag or input field it names (`--cron`, `source.table`), for scripts and tests. */
  readonly field?: string;
}

/** The field a typed error's details name, if any. */
function fieldOf(details: unknown): { field?: string } {
  const field = (details as { field?: unknown } | null | undefined)?.field;
  return typeof field === 'string' ? { field } : {};
}

/** A failure that happened to a known run: reported with its workflow id and runKey. */
export class RunFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly workflowId: string,
    readonly runKey: string | null,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** The type and message of any error (unwrapping a workflow failure to its cause). */
export function summarizeFailure(err: unknown): FailureSummary {
  let cause: unknown = err instanceof RunFailure ? err.cause : err;
  if (cause instanceof WorkflowFailedError && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    return {
      type: cause.type ?? 'ApplicationFailure',
      message: cause.message,
      ...fieldOf(cause.details?.[0]),
    };
  }
  if (cause instanceof TerminatedFailure || cause instanceof CancelledFailure) {
    return { type: cause.name, message: cause.message || cause.name };
  }
  if (cause instanceof TimeoutFailure) {
    return { type: cause.name, message: `${cause.timeoutType ?? 'workflow'} timeout: ${cause.message}` };
  }
  if (cause instanceof TemporalFailure) return { type: cause.name, message: cause.message };
  if (cause instanceof PgParquetError) {
    return { type: cause.type, message: cause.message, ...fieldOf(cause.details) };
  }
  if (cause instanceof CommanderError) {
    const message = cause.code === 'commander.help' ? 'a command is required' : cause.message;
    return { type: ErrorType.InvalidInput, message: message.replace(/^error: /, '') };
  }
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}

/** Usage errors (flags, input refused before anything starts) exit 2; everything else 1. */
function exitCodeOf(err: unknown): number {
  const cause = err instanceof RunFailure ? err.cause : err;
  if (cause instanceof InputError || cause instanceof CommanderError) return ExitCode.usage;
  return ExitCode.failed;
}

/** Prints the failure (JSON on stdout with `--json`, else `Type: message` on stderr). */
export function reportFailure(err: unknown, json: boolean): number {
  const error = summarizeFailure(err);
  if (json) {
    const run = err instanceof RunFailure ? { workflowId: err.workflowId, runKey: err.runKey } : {};
    console.log(JSON.stringify({ status: 'failed', ...run, error }, null, 2));
  } else {
    console.error(`${error.type}: ${error.message}`);
    if (err instanceof RunFailure) console.error(`  workflow ${err.workflowId}`);
    if (err instanceof CommanderError)
      console.error('  (pg-parquet --help, or pg-parquet <command> --help, for usage)');
  }
  return exitCodeOf(err);
}
