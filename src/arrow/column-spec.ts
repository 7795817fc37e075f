/**
 * The contract between introspection (src/postgres/introspect.ts), the type map
 * (src/arrow/type-map.ts) and the binary COPY decoder (src/postgres/copy-decoder.ts).
 * Plain JSON so it can travel through activity inputs/results and into the manifest.
 */

/** One column of the source relation as PostgreSQL describes it (domains already resolved). */
export interface PgColumn {
  /** Column name, unquoted, exactly as in pg_attribute. */
  readonly name: string;
  /** `format_type(atttypid, atttypmod)`, e.g. `numeric(12,2)`, `timestamp with time zone`, `text[]`. */
  readonly pgType: string;
  /** OID of the type after resolving domains to their base type. */
  readonly typeOid: number;
  /** pg_type.typname of the resolved type (e.g. `citext`, whose OID is not fixed). */
  readonly typeName?: string;
  /**
   * typmod after resolving domains (-1 when none). For arrays it is the elements' typmod (which is
   * what PostgreSQL stores in atttypmod for `numeric(10,2)[]`, or the element domain's typmod).
   */
  readonly typmod: number;
  /** pg_type.typtype of the resolved type: 'b' base, 'e' enum, 'r' range, 'c' composite, ... */
  readonly typtype: string;
  /** For arrays: OID of the element type (domains resolved); 0 otherwise. */
  readonly elementOid: number;
  /** For arrays: pg_type.typname of the resolved element type (e.g. `citext`). */
  readonly elementTypeName?: string;
  /** For arrays: pg_type.typtype of the resolved element type ('e' for an enum's array). */
  readonly elementTyptype?: string;
  /** attnotnull */
  readonly notNull: boolean;
}

/** How the decoder turns one field's binary COPY bytes into an Arrow value. */
export type DecoderKind =
  | 'bool'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float4'
  | 'float8'
  | 'numeric-decimal'
  | 'numeric-string'
  | 'text'
  | 'bytea'
  | 'uuid'
  | 'json'
  | 'jsonb'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'array';

/** A column as it will be extracted: the SELECT expression and the decoding recipe. */
export interface ColumnSpec {
  /** Output column name (same as the source column name). */
  readonly name: string;
  /** PostgreSQL type as format_type prints it (for the manifest). */
  readonly pgType: string;
  /** Arrow type as a readable string for the manifest, e.g. `Decimal128(12,2)`, `Timestamp(us, UTC)`. */
  readonly arrowType: string;
  /** SQL expression for the SELECT list: the quoted identifier, with a `::text` cast where needed. */
  readonly selectExpr: string;
  readonly kind: DecoderKind;
  /** numeric-decimal: precision and scale. */
  readonly precision?: number;
  readonly scale?: number;
  /** array: the element's spec (name/selectExpr unused). */
  readonly element?: ColumnSpec;
  readonly nullable: boolean;
}

/** What ±infinity dates and timestamps become (`transform.infinity`). */
export type InfinityMode = 'error' | 'null' | 'clamp';

/** Every accepted {@link InfinityMode}. */
export const INFINITY_MODES: readonly InfinityMode[] = ['error', 'null', 'clamp'];

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
}

/** The type options other than the timestamp unit, at their defaults (every value exact or refused). */
export const DEFAULT_TYPE_OPTIONS: Required<Omit<TypeOptions, 'timestampUnit'>> = {
  infinity: 'error',
  numericAsString: false,
  unconstrainedNumeric: null,
  arraysAsText: false,
};
