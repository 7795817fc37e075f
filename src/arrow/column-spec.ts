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
  | 'time-micros'
  | 'timestamp'
  | 'timestamptz'
  | 'array';

/** The Arrow field metadata key that names a field's extension type (Arrow's columnar format spec). */
export const EXTENSION_NAME_KEY = 'ARROW:extension:name';

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
  /**
   * The canonical Arrow extension type the column is written as (`transform.uuidAs: "uuid"`,
   * `jsonAs: "json"`): its field carries `ARROW:extension:name`, and the Parquet writer gives the
   * column the matching logical type (UUID, JSON). Absent: a plain Arrow type.
   */
  readonly extension?: 'arrow.uuid' | 'arrow.json';
  /** array: the element's spec (name/selectExpr unused). */
  readonly element?: ColumnSpec;
  readonly nullable: boolean;
}
