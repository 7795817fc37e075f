/**
 * Typed errors of the exporter. Each has a stable `type` (used as the Temporal
 * ApplicationFailure type), says whether retrying could help, and carries details that are
 * safe to put into workflow history (never a secret).
 */

/** The ApplicationFailure types this package raises. Tests assert on these, not on messages. */
export const ErrorType = {
  InvalidInput: 'PgParquetInvalidInput',
  ConnectionNotConfigured: 'PgParquetConnectionNotConfigured',
  TableNotFound: 'PgParquetTableNotFound',
  ColumnNotFound: 'PgParquetColumnNotFound',
  UnsupportedCursor: 'PgParquetUnsupportedCursor',
  InvalidWhere: 'PgParquetInvalidWhere',
  InvalidDestination: 'PgParquetInvalidDestination',
  UnsupportedValue: 'PgParquetUnsupportedValue',
  SourceError: 'PgParquetSourceError',
  VerificationFailed: 'PgParquetVerificationFailed',
  PlanMismatch: 'PgParquetPlanMismatch',
} as const;

/** One of the {@link ErrorType} values. */
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** Base class: a problem the exporter understands, with a failure type and safe details. */
export class PgParquetError extends Error {
  constructor(
    readonly type: ErrorTypeName,
    message: string,
    /** Whether the same call could succeed later (network, killed backend) or never will. */
    readonly retryable: boolean,
    /** JSON-safe details for the failure (field, value, SQLSTATE, ...). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}

/** Bad workflow input: names the field, the value and what would be accepted. */
export class InputError extends PgParquetError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly accepted: string,
    type: ErrorTypeName = ErrorType.InvalidInput,
  ) {
    super(type, `invalid ${field}: got ${describeValue(value)}; expected ${accepted}`, false, {
      field,
      value: safeJson(value),
      accepted,
    });
  }
}

/** Short, single-line rendering of a user value for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? typeof value;
  } catch {
    text = typeof value;
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function safeJson(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value ?? null)) as unknown;
  } catch {
    return String(value);
  }
}
