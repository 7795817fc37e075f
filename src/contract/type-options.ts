/** Type options of an export (`transform.*`): plain data, shared by the workflow and the worker. */

/** What ±infinity dates and timestamps become (`transform.infinity`). */
export type InfinityMode = 'error' | 'null' | 'clamp';

/** Every accepted {@link InfinityMode}. */
export const INFINITY_MODES: readonly InfinityMode[] = ['error', 'null', 'clamp'];

/**
 * How `time` columns are written (`transform.timeAs`): Parquet TIME(MICROS) (Arrow Time64(us)),
 * PostgreSQL's text form (`HH:MM:SS[.ffffff]`), or int64 microseconds since midnight.
 */
export type TimeMode = 'time' | 'string' | 'micros';

/** Every accepted {@link TimeMode}. */
export const TIME_MODES: readonly TimeMode[] = ['time', 'string', 'micros'];

/**
 * How `uuid` columns are written (`transform.uuidAs`): their canonical text (Utf8, the default:
 * every engine reads it as a string), or Parquet's UUID logical type (FIXED_LEN_BYTE_ARRAY(16),
 * Arrow's canonical `arrow.uuid` extension of FixedSizeBinary(16)), as pg_parquet and DuckDB
 * write it.
 */
export type UuidMode = 'string' | 'uuid';

/** Every accepted {@link UuidMode}. */
export const UUID_MODES: readonly UuidMode[] = ['string', 'uuid'];

/**
 * How `json` and `jsonb` columns are written (`transform.jsonAs`): their text (Utf8 with Parquet's
 * STRING type, the default), or the same text with Parquet's JSON logical type (Arrow's canonical
 * `arrow.json` extension of Utf8).
 */
export type JsonMode = 'string' | 'json';

/** Every accepted {@link JsonMode}. */
export const JSON_MODES: readonly JsonMode[] = ['string', 'json'];

/** Largest precision Decimal128 holds. */
export const MAX_DECIMAL_PRECISION = 38;

/** Extraction-wide type options (from the workflow input's `transform`). */
export interface TypeOptions {
  /** Unit of every timestamp column. */
  readonly timestampUnit: 'us' | 'ms';
  /**
   * ±infinity in date/timestamp columns: fail the batch ("error", the default), write NULL
   * ("null": such columns are then nullable) or the nearest of 0001-01-01 / 9999-12-31
   * 23:59:59.999999 ("clamp").
   */
  readonly infinity?: InfinityMode;
  /**
   * numeric(p,s) columns as exact strings instead of Decimal128 (accepts NaN, ±Infinity; the
   * escape hatch for values a decimal cannot hold).
   */
  readonly numericAsString?: boolean;
  /**
   * Unconstrained numeric columns as Decimal128 with this precision and scale instead of exact
   * strings. A value with more digits, or more decimal places, fails the batch: never rounded.
   */
  readonly unconstrainedNumeric?: { readonly precision: number; readonly scale: number } | null;
  /** Every array column as PostgreSQL's text form (`{{1,2},{3,4}}`) instead of a List. */
  readonly arraysAsText?: boolean;
  /**
   * `time` columns (and `time[]` elements): "time" (the default, the contract's exact type:
   * Time64(us)), "string" (exact text, read by every engine: Spark 3.5 and 4.0 refuse a whole file
   * that holds a Parquet TIME column) or "micros" (Int64 µs since midnight). `timetz` is always
   * its text form.
   */
  readonly timeAs?: TimeMode;
  /** `uuid` columns (and `uuid[]` elements): "string" (the default) or "uuid" (Parquet UUID). */
  readonly uuidAs?: UuidMode;
  /** `json`/`jsonb` columns (and their arrays' elements): "string" (the default) or "json" (Parquet JSON). */
  readonly jsonAs?: JsonMode;
}

/** The type options other than the timestamp unit, at their defaults (every value exact or refused). */
export const DEFAULT_TYPE_OPTIONS: Required<Omit<TypeOptions, 'timestampUnit'>> = {
  infinity: 'error',
  numericAsString: false,
  unconstrainedNumeric: null,
  arraysAsText: false,
  timeAs: 'time',
  uuidAs: 'string',
  jsonAs: 'string',
};
