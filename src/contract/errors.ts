/**
 * Typed errors of the exporter. Each has a stable `type` (used as the Temporal
 * ApplicationFailure type), says whether retrying could help, and carries details that are
 * safe to put into workflow history (never a secret).
 */

/**
 * The failure types this package raises, one per problem. Tests assert on these, not on messages.
 * Each error also says whether a retry can help (see {@link PgParquetError.retryable}); the
 * README's failure table lists both.
 */
export const ErrorType = {
  // Input and configuration: terminal, refused before any work.
  InvalidInput: 'PgParquetInvalidInput',
  /** No usable setting for a connection name: no variable, an undefined service, a bad sslmode. */
  ConnectionNotConfigured: 'PgParquetConnectionNotConfigured',
  InvalidWhere: 'PgParquetInvalidWhere',
  InvalidDestination: 'PgParquetInvalidDestination',
  // What the source contradicts: terminal.
  TableNotFound: 'PgParquetTableNotFound',
  ColumnNotFound: 'PgParquetColumnNotFound',
  UnsupportedCursor: 'PgParquetUnsupportedCursor',
  UnsupportedValue: 'PgParquetUnsupportedValue',
  /** The watermark column of an incremental run is not an integer or timestamp column. */
  UnsupportedWatermark: 'PgParquetUnsupportedWatermark',
  /** A PostgreSQL error: retryable or not by its SQLSTATE class. */
  SourceError: 'PgParquetSourceError',
  /** The database could not be reached (refused, reset, timed out): transient. */
  SourceUnavailable: 'PgParquetSourceUnavailable',
  /** The binary COPY stream was malformed or cut short: transient (a broken connection). */
  CopyFormat: 'PgParquetCopyFormat',
  // The destination.
  /** The bucket (or folder) does not exist or is not a folder: terminal. */
  DestinationNotFound: 'PgParquetDestinationNotFound',
  /** Credentials refused, access denied, read-only: terminal. */
  DestinationDenied: 'PgParquetDestinationDenied',
  /**
   * The destination has no space left (`ENOSPC`, `EDQUOT`): transient, since space can come back
   * (a cleanup, a grown volume) and the run then resumes after what it had stored.
   */
  DestinationFull: 'PgParquetDestinationFull',
  /** Any other object-store failure: transient for 5xx, throttling and the network, else terminal. */
  StorageError: 'PgParquetStorageError',
  // Parquet.
  /** Bytes that should be Parquet are not (a corrupt or foreign file): terminal. */
  ParquetFormat: 'PgParquetParquetFormat',
  /** A batch's schema differs from its file's (parquet-wasm would drop it silently): terminal. */
  SchemaMismatch: 'PgParquetSchemaMismatch',
  /** An encoder thread failed or was shut down: transient. */
  EncodeFailed: 'PgParquetEncodeFailed',
  // A run's own state.
  /** Stored output does not add up (rows, files): terminal unless the check says otherwise. */
  VerificationFailed: 'PgParquetVerificationFailed',
  /** The runKey was planned with other settings: terminal. */
  PlanMismatch: 'PgParquetPlanMismatch',
  /**
   * An incremental run's range would overlap the range of a successful run of the table (a run
   * superseded while unfinished, a runKey older than a successful one, another watermark column):
   * terminal.
   */
  WatermarkConflict: 'PgParquetWatermarkConflict',
  /**
   * The run's exported snapshot ended (its holder's worker or backend died) before every
   * partition was read in it: the run re-extracts under a new one, and fails with this type
   * (terminal) after MAX_SNAPSHOT_RESTARTS replacements.
   */
  SnapshotLost: 'PgParquetSnapshotLost',
  /** `consistency: "snapshot"` on a server that cannot export snapshots: terminal. */
  SnapshotUnsupported: 'PgParquetSnapshotUnsupported',
  // The CLI and client helpers.
  /** No run has this workflow id (or, for `cancel`, none is running): terminal. */
  RunNotFound: 'PgParquetRunNotFound',
  /** No schedule has this id, or it is not a schedule of exports (it starts another workflow): terminal. */
  ScheduleNotFound: 'PgParquetScheduleNotFound',
  /** `schedule create` with the id of a schedule that exists already: terminal. */
  ScheduleExists: 'PgParquetScheduleExists',
  /** The Temporal server could not be reached, or refused the namespace: transient. */
  TemporalUnavailable: 'PgParquetTemporalUnavailable',
  /** An error this package does not know: left to the retry policy (transient). */
  Internal: 'PgParquetInternal',
} as const;

/** One of the {@link ErrorType} values. */
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * Base class of every error src/ throws on purpose: a failure type, whether a retry can help,
 * and JSON-safe details (never a secret). The activity boundary turns it into an
 * ApplicationFailure of the same type, non-retryable when `retryable` is false.
 */
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
function describeValue(value: unknown): string {
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
