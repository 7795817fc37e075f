/**
 * The PostgreSQL → Arrow type map. Exact by default: integers keep their width, numeric(p,s)
 * becomes Decimal128(p,s), timestamps keep microseconds, and a type we do not decode in binary is
 * cast to text by the query rather than approximated.
 *
 * Arrays: a column whose element type has a binary decoder becomes `List<element>`; any other
 * array (of interval, inet, composite, range, …) is cast to its text form (`{…}`) as a whole.
 * Whether an array is one-dimensional is only known per value (PostgreSQL does not enforce the
 * declared dimensions), so a multi-dimensional value in a List column fails the batch with an
 * `UnsupportedValueError` naming the column (see src/postgres/copy-decoder.ts) rather than being
 * flattened, which would lose its shape. Lower bounds other than 1 (`'[0:1]={1,2}'`) are not kept.
 */
import {
  Binary,
  Bool,
  DataType,
  DateDay,
  DateUnit,
  Decimal,
  Field,
  FixedSizeBinary,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  List,
  TimeMicrosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimeUnit,
  Type,
  Utf8,
} from 'apache-arrow';
import { quoteIdent } from '../contract/identifiers.js';
import { EXTENSION_NAME_KEY, type ColumnSpec, type DecoderKind, type PgColumn } from './column-spec.js';
import { DEFAULT_TYPE_OPTIONS, MAX_DECIMAL_PRECISION, type TypeOptions } from '../contract/type-options.js';

/** Kinds whose values can be ±infinity. */
const INFINITE_KINDS: ReadonlySet<DecoderKind> = new Set<DecoderKind>(['date', 'timestamp', 'timestamptz']);

/** Binary-decoded base types by OID. */
const KIND_BY_OID: ReadonlyMap<number, DecoderKind> = new Map<number, DecoderKind>([
  [16, 'bool'],
  [17, 'bytea'],
  [19, 'text'], // name
  [20, 'int8'],
  [21, 'int2'],
  [23, 'int4'],
  [25, 'text'],
  [114, 'json'],
  [700, 'float4'],
  [701, 'float8'],
  [1042, 'text'], // char(n): binary form is the padded text
  [1043, 'text'], // varchar
  [1082, 'date'],
  [1083, 'time'],
  [1114, 'timestamp'],
  [1184, 'timestamptz'],
  [1700, 'numeric-string'],
  [2950, 'uuid'],
  [3802, 'jsonb'],
]);

/**
 * numeric typmod → precision and scale, or undefined for an unconstrained numeric. PostgreSQL 15
 * allows negative scales and scales above the precision; the type map sends those to text.
 */
function numericTypmod(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < 4) return undefined;
  const precision = ((typmod - 4) >> 16) & 0xffff;
  const raw = (typmod - 4) & 0x7ff;
  const scale = raw > 1023 ? raw - 2048 : raw;
  return { precision, scale };
}

/**
 * The binary decoder of a resolved (non-domain) type, or undefined when the query must cast the
 * column to text. Enums send their label and citext its text, so both decode as text; citext has
 * no fixed OID and is recognized by name.
 */
function baseKind(typeOid: number, typeName: string | undefined, typtype: string): DecoderKind | undefined {
  if (typtype === 'e' || typeName === 'citext') return 'text';
  if (typtype !== 'b') return undefined; // ranges, composites, pseudo-types: text form
  return KIND_BY_OID.get(typeOid);
}

function scalarSpec(
  col: PgColumn,
  name: string,
  selectExpr: string,
  nullable: boolean,
  opts: TypeOptions,
): ColumnSpec {
  let kind = baseKind(col.typeOid, col.typeName, col.typtype);
  let expr = selectExpr;
  let precision: number | undefined;
  let scale: number | undefined;
  if (kind === 'numeric-string' && !opts.numericAsString) {
    const ps = numericTypmod(col.typmod);
    if (ps && ps.precision <= MAX_DECIMAL_PRECISION && ps.scale >= 0 && ps.scale <= ps.precision) {
      kind = 'numeric-decimal';
      precision = ps.precision;
      scale = ps.scale;
    } else if (!ps && opts.unconstrainedNumeric) {
      kind = 'numeric-decimal';
      ({ precision, scale } = opts.unconstrainedNumeric);
    }
  }
  if (kind === 'time') {
    const timeAs = opts.timeAs ?? DEFAULT_TYPE_OPTIONS.timeAs;
    // "string": PostgreSQL's own text form (the cast below), exact for every value, 24:00:00 too.
    if (timeAs === 'string') kind = undefined;
    else if (timeAs === 'micros') kind = 'time-micros';
  }
  // The logical-type options keep the decoder kind (and so cursors) and only change how values are stored.
  let extension: ColumnSpec['extension'];
  if (kind === 'uuid' && (opts.uuidAs ?? DEFAULT_TYPE_OPTIONS.uuidAs) === 'uuid') extension = 'arrow.uuid';
  if ((kind === 'json' || kind === 'jsonb') && (opts.jsonAs ?? DEFAULT_TYPE_OPTIONS.jsonAs) === 'json') {
    extension = 'arrow.json';
  }
  // NULL is what an infinite date or timestamp becomes with `infinity: "null"`.
  const infinityToNull = opts.infinity === 'null' && INFINITE_KINDS.has(kind ?? 'text');
  if (!kind) {
    kind = 'text';
    expr = `${selectExpr}::text`;
  }
  const spec = {
    name,
    pgType: col.pgType,
    selectExpr: expr,
    kind,
    nullable: nullable || infinityToNull,
    precision,
    scale,
    ...(extension ? { extension } : {}),
  } as const;
  return { ...spec, arrowType: describeSpecType(spec, opts) };
}

/**
 * Plans how each column is selected and decoded: the SELECT expression (always a quoted
 * identifier, with `::text` for types without a binary decoder), the decoder kind and the Arrow
 * type, in the columns' order.
 */
export function planColumns(cols: readonly PgColumn[], opts: TypeOptions): ColumnSpec[] {
  return cols.map((col) => {
    const ident = quoteIdent(col.name);
    const nullable = !col.notNull;
    if (col.elementOid !== 0 && !opts.arraysAsText) {
      const elementTyptype = col.elementTyptype ?? 'b';
      const elementKind = baseKind(col.elementOid, col.elementTypeName, elementTyptype);
      if (elementKind) {
        const elementCol: PgColumn = {
          name: 'item',
          pgType: col.pgType.endsWith('[]') ? col.pgType.slice(0, -2) : col.pgType,
          typeOid: col.elementOid,
          typeName: col.elementTypeName,
          typmod: col.typmod,
          typtype: elementTyptype,
          elementOid: 0,
          notNull: false,
        };
        const element = scalarSpec(elementCol, 'item', '', true, opts);
        // An element the options send to text (time with timeAs "string"): cast the elements.
        const spec = {
          name: col.name,
          pgType: col.pgType,
          selectExpr: element.selectExpr === '::text' ? `${ident}::text[]` : ident,
          kind: 'array',
          nullable,
          element,
        } as const;
        return { ...spec, arrowType: describeSpecType(spec, opts) };
      }
      // Arrays of types without a binary decoder: PostgreSQL's text form of the whole array.
      const spec = {
        name: col.name,
        pgType: col.pgType,
        selectExpr: `${ident}::text`,
        kind: 'text',
        nullable,
      } as const;
      return { ...spec, arrowType: 'Utf8' };
    }
    return scalarSpec(col, col.name, ident, nullable, opts);
  });
}

/** The spec's parts that decide its Arrow type. */
type TypedSpec = Pick<ColumnSpec, 'kind' | 'precision' | 'scale' | 'element' | 'extension'>;

/**
 * The manifest's name of a spec's Arrow type: {@link describeArrowType}, with the extension type
 * named after its storage type (`FixedSizeBinary(16) arrow.uuid`, `List<Utf8 arrow.json>`).
 */
function describeSpecType(spec: TypedSpec, opts: TypeOptions): string {
  if (spec.kind === 'array' && spec.element) return `List<${describeSpecType(spec.element, opts)}>`;
  const base = describeArrowType(arrowTypeOf(spec, opts));
  return spec.extension ? `${base} ${spec.extension}` : base;
}

/** Arrow field metadata naming a spec's extension type (empty for a plain type). */
function extensionMetadata(spec: TypedSpec): Map<string, string> {
  return spec.extension ? new Map([[EXTENSION_NAME_KEY, spec.extension]]) : new Map<string, string>();
}

/** The Arrow type a spec decodes to (timestamps in `opts.timestampUnit`, time always in µs). */
function arrowTypeOf(spec: TypedSpec, opts: TypeOptions): DataType {
  switch (spec.kind) {
    case 'bool':
      return new Bool();
    case 'int2':
      return new Int16();
    case 'int4':
      return new Int32();
    case 'int8':
    case 'time-micros':
      return new Int64();
    case 'float4':
      return new Float32();
    case 'float8':
      return new Float64();
    case 'numeric-decimal':
      return new Decimal(spec.scale ?? 0, spec.precision ?? MAX_DECIMAL_PRECISION, 128);
    case 'uuid':
      // arrow.uuid's storage: the 16 bytes (see copy-values.ts).
      return spec.extension === 'arrow.uuid' ? new FixedSizeBinary(16) : new Utf8();
    case 'numeric-string':
    case 'text':
    case 'json':
    case 'jsonb':
      return new Utf8();
    case 'bytea':
      return new Binary();
    case 'date':
      return new DateDay();
    case 'time':
      return new TimeMicrosecond();
    case 'timestamp':
      return opts.timestampUnit === 'ms' ? new TimestampMillisecond() : new TimestampMicrosecond();
    case 'timestamptz':
      return opts.timestampUnit === 'ms' ? new TimestampMillisecond('UTC') : new TimestampMicrosecond('UTC');
    case 'array': {
      if (!spec.element) throw new TypeError('array spec without element');
      return new List(
        new Field('item', arrowTypeOf(spec.element, opts), true, extensionMetadata(spec.element)),
      );
    }
  }
}

/** A readable name of an Arrow type for the manifest: `Decimal128(12,2)`, `Timestamp(us, UTC)`, `List<Int32>`. */
export function describeArrowType(type: DataType): string {
  if (DataType.isDecimal(type)) return `Decimal${type.bitWidth}(${type.precision},${type.scale})`;
  if (DataType.isTimestamp(type)) {
    const unit = UNIT_NAMES[type.unit];
    return type.timezone ? `Timestamp(${unit}, ${type.timezone})` : `Timestamp(${unit})`;
  }
  if (DataType.isTime(type)) return `Time${type.bitWidth}(${UNIT_NAMES[type.unit]})`;
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? 'Date32' : 'Date64';
  if (DataType.isInt(type)) return `${type.isSigned ? 'Int' : 'UInt'}${type.bitWidth}`;
  if (DataType.isFloat(type)) return ['Float16', 'Float32', 'Float64'][type.precision] ?? 'Float';
  if (DataType.isList(type)) return `List<${describeArrowType(type.children[0]!.type as DataType)}>`;
  if (DataType.isUtf8(type)) return 'Utf8';
  if (DataType.isBinary(type)) return 'Binary';
  if (DataType.isFixedSizeBinary(type)) return `FixedSizeBinary(${type.byteWidth})`;
  if (DataType.isBool(type)) return 'Bool';
  return Type[type.typeId] ?? 'Unknown';
}

const UNIT_NAMES: Record<number, string> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};

/**
 * The Arrow field of a column: its name, Arrow type and nullability (NOT NULL → non-nullable),
 * and `ARROW:extension:name` for an extension type (`transform.uuidAs` / `jsonAs`).
 */
export function arrowField(spec: ColumnSpec, opts: TypeOptions): Field {
  return new Field(spec.name, arrowTypeOf(spec, opts), spec.nullable, extensionMetadata(spec));
}
