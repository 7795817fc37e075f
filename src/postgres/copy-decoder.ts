/**
 * Streaming decoder of PostgreSQL's binary COPY format straight into Arrow columns.
 *
 * Chunks arrive at arbitrary boundaries: headers, fields and rows straddle them. Rows are decoded
 * in place from the chunk, appending to growable typed arrays; when a row turns out to be cut by
 * the end of the chunk, what was appended for it is rolled back and only that tail is kept as a
 * carry. The next chunk first tops the carry up with exactly the bytes the straddling row still
 * needs (its field lengths tell how many), decodes it, and continues in place. So every byte is
 * read once from its chunk, and only the bytes of straddling rows are copied twice.
 *
 * Layout (all big-endian): 11-byte signature, int32 flags, int32 header-extension length and the
 * extension; per row an int16 field count, then per field an int32 length (-1 = NULL) and the
 * bytes; an int16 -1 ends the data.
 */
import { makeData, RecordBatch, Schema, Struct, type Data, type DataType, type Field } from 'apache-arrow';
import type { ColumnSpec, DecoderKind } from '../arrow/column-spec.js';
import type { InfinityMode, TypeOptions } from '../contract/type-options.js';
import { arrowField } from '../arrow/type-map.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** One decoded batch and what the exporter records about it. */
export interface DecodedBatch {
  readonly batch: RecordBatch;
  readonly rows: number;
  /** Sum of the byte lengths of the batch's non-NULL fields on the wire: a size estimate. */
  readonly bytes: number;
  /**
   * The cursor column's value in the batch's first and last row, in the cursor's integer form
   * (see src/postgres/cursor-kind.ts): integers as decimal strings, dates as days since
   * 1970-01-01, timestamps (with or without time zone) as microseconds since 1970-01-01 UTC,
   * whatever `timestampUnit` is. Null when the value is NULL, when there is no cursor column, or
   * when the cursor column is of another type.
   */
  readonly cursorFirst: string | null;
  readonly cursorLast: string | null;
}

/** How the decoder cuts and labels batches. */
export interface DecoderOptions {
  /** A batch is cut when it holds this many rows… */
  readonly batchRows: number;
  /** …or when its field bytes reach this many, whichever comes first. */
  readonly batchBytes: number;
  /** Index of the cursor column in the specs, or -1. */
  readonly cursorColumn: number;
  readonly typeOptions: TypeOptions;
  /** `schema.table`, for error messages. */
  readonly table: string;
}

/**
 * The option names that would accept values Parquet cannot hold as typed. The decoder only names
 * them; the export input decides which exist.
 */
export const UNSUPPORTED_VALUE_OPTIONS = {
  /** date/timestamp ±infinity. */
  infinity: 'transform.infinity',
  /** numeric NaN/±Infinity, or a value beyond the column's precision, in a Decimal128 column. */
  numericAsString: 'transform.numericAsString',
  /** A timestamp beyond the int64 microsecond range (after year 294246): milliseconds hold it. */
  timestampUnit: 'transform.timestampUnit',
  /** A multi-dimensional value in an array column exported as a List. */
  arraysAsText: 'transform.arraysAsText',
} as const;

/**
 * A value Parquet cannot hold as typed (an infinite date or timestamp, NaN or an out-of-range
 * numeric in a decimal column, a multi-dimensional array in a List column). Names the table,
 * column, value, the row's cursor value and the option that would accept it. Non-retryable.
 */
export class UnsupportedValueError extends PgParquetError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly pgType: string,
    /** The value as PostgreSQL would print it (`infinity`, `NaN`, …) or a description. */
    readonly value: string,
    /** The failing row's cursor value (integer form, as in {@link DecodedBatch}), null if NULL/none. */
    readonly cursor: string | null,
    /** The option that would accept the value (see {@link UNSUPPORTED_VALUE_OPTIONS}). */
    readonly option: string,
  ) {
    super(
      ErrorType.UnsupportedValue,
      `${table}: column ${column} (${pgType}) holds ${value} at cursor ${cursor ?? 'NULL'}, which Parquet ` +
        `cannot store as ${pgType}; the option ${option} would accept it (or exclude such rows with ` +
        `source.where, or cast the column in a view)`,
      false,
      { table, column, pgType, value, cursor, option },
    );
  }
}

/** The bytes are not a well-formed binary COPY stream for these columns, or it ended early. */
export class CopyFormatError extends PgParquetError {
  constructor(message: string) {
    // Transient: from a live server this is a stream cut short; a retry reads it again.
    super(ErrorType.CopyFormat, message, true);
  }
}

/** Thrown by value decoders; the row loop turns it into an {@link UnsupportedValueError}. */
class ValueProblem extends Error {
  constructor(
    readonly value: string,
    readonly option: string,
  ) {
    super(value);
  }
}

// Decoder kinds as small integers: the row loop switches on them (monomorphic, no closures).
const K_BOOL = 0;
const K_INT2 = 1;
const K_INT4 = 2;
const K_INT8 = 3;
const K_FLOAT4 = 4;
const K_FLOAT8 = 5;
const K_DATE = 6;
const K_TIME = 7;
const K_TS_US = 8;
const K_TS_MS = 9;
const K_BYTES = 10;
const K_JSONB = 11;
const K_UUID = 12;
const K_DECIMAL = 13;
const K_NUMERIC_TEXT = 14;
const K_LIST = 15;

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER_BYTES = 19;
/** Header flag bit 16: every row carries an OID field (only for tables WITH OIDS, gone since 12). */
const FLAG_OIDS = 1 << 16;
/** Days from 1970-01-01 to 2000-01-01. */
const DATE_EPOCH_DAYS = 10957;
const TWO_32 = 4294967296;
/** µs from 1970-01-01 to 2000-01-01 (946684800000000) as 32-bit words. */
const TS_EPOCH_US_HI = 220417;
const TS_EPOCH_US_LO = 946684800000000 - TS_EPOCH_US_HI * TWO_32;
/** ms from 1970-01-01 to 2000-01-01 (946684800000) as 32-bit words. */
const TS_EPOCH_MS_HI = 220;
const TS_EPOCH_MS_LO = 946684800000 - TS_EPOCH_MS_HI * TWO_32;
const TS_EPOCH_US = 946_684_800_000_000n;
const INT32_MAX = 0x7fffffff;

/** `transform.infinity` modes, as small integers for the hot loop. */
const INF_ERROR = 0;
const INF_NULL = 1;
const INF_CLAMP = 2;
const INFINITY_CODES: Readonly<Record<InfinityMode, number>> = {
  error: INF_ERROR,
  null: INF_NULL,
  clamp: INF_CLAMP,
};

/** int64 → its (lo, hi) 32-bit words, as stored in the Int32Arrays. */
function words(v: bigint): readonly [number, number] {
  return [Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n))];
}

/**
 * `infinity: "clamp"` limits: 9999-12-31 (23:59:59.999999) and 0001-01-01 (00:00), the range
 * every mainstream reader (Python, Java, Spark, SQL engines) converts without overflow.
 */
const CLAMP_DATE_MAX = 2_932_896;
const CLAMP_DATE_MIN = -719_162;
const CLAMP_US_MAX = words(253_402_300_799_999_999n);
const CLAMP_US_MIN = words(-62_135_596_800_000_000n);
const CLAMP_MS_MAX = words(253_402_300_799_999n);
const CLAMP_MS_MIN = words(-62_135_596_800_000n);
const INT32_MIN = -0x80000000;

const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
const POW10 = [1, 10, 100, 1000, 10000];

/** Lower-case hex digits of a byte, as ASCII codes. */
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEX_HI[i] = '0123456789abcdef'.charCodeAt(i >> 4);
  HEX_LO[i] = '0123456789abcdef'.charCodeAt(i & 15);
}
const EMPTY_U8 = new Uint8Array(0);
const EMPTY_I16 = new Int16Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_F32 = new Float32Array(0);
const EMPTY_F64 = new Float64Array(0);

/** Values shorter than this are copied byte by byte: cheaper than a subarray and `set`. */
const SMALL_COPY = 64;
/** A carry larger than this is released once its row is decoded. */
const CARRY_KEEP = 1 << 16;

/**
 * One column of the batch being built. One class for every kind (unused buffers stay empty), so
 * that the hot loop only ever sees one object shape.
 */
class Column {
  /** Values appended (including NULLs). */
  n = 0;
  /** Capacity in values. */
  cap: number;
  /** NULL bits (1 = NULL), allocated at the first NULL; inverted into Arrow's validity at the end. */
  nulls: Uint8Array | null = null;
  nullCount = 0;
  bits: Uint8Array = EMPTY_U8;
  i16: Int16Array = EMPTY_I16;
  /** int4/date values; int8/time/timestamp as (lo, hi) word pairs; decimals as four words. */
  i32: Int32Array = EMPTY_I32;
  f32: Float32Array = EMPTY_F32;
  f64: Float64Array = EMPTY_F64;
  /** Variable-width kinds and lists: n + 1 offsets (into data, or into the child). */
  offsets: Int32Array = EMPTY_I32;
  data: Uint8Array = EMPTY_U8;
  dataLen = 0;
  /** Lists: the element column. */
  child: Column | null = null;
  /** Decimals. */
  precision = 0;
  scale = 0;
  /** Millisecond timestamps: the raw µs words of the first and last value, for the cursor. */
  rawFirstHi = 0;
  rawFirstLo = 0;
  rawLastHi = 0;
  rawLastLo = 0;
  /** What ±infinity dates and timestamps become: {@link INF_ERROR}, {@link INF_NULL} or {@link INF_CLAMP}. */
  infinity = INF_ERROR;
  /** A clamped value's row in this batch (first and last only matter: they give the cursor span). */
  clampedFirst = false;
  clampedLast = -1;

  constructor(
    readonly kind: number,
    readonly spec: ColumnSpec,
    readonly type: DataType,
    cap: number,
    dataCap: number,
  ) {
    this.cap = Math.max(cap, 16);
    this.allocate(this.cap, Math.max(dataCap, 64));
  }

  /** Allocates (or grows, keeping the contents) the value buffers to `cap` values. */
  allocate(cap: number, dataCap: number): void {
    const k = this.kind;
    if (k === K_BOOL) this.bits = growBytes(this.bits, (cap + 7) >> 3);
    else if (k === K_INT2) this.i16 = grow(this.i16, cap);
    else if (k === K_INT4 || k === K_DATE) this.i32 = grow(this.i32, cap);
    else if (k === K_INT8 || k === K_TIME || k === K_TS_US || k === K_TS_MS)
      this.i32 = grow(this.i32, cap * 2);
    else if (k === K_DECIMAL) this.i32 = grow(this.i32, cap * 4);
    else if (k === K_FLOAT4) this.f32 = grow(this.f32, cap);
    else if (k === K_FLOAT8) this.f64 = grow(this.f64, cap);
    else {
      this.offsets = grow(this.offsets, cap + 1);
      if (k !== K_LIST) this.data = growBytes(this.data, dataCap);
    }
    if (this.nulls) this.nulls = growBytes(this.nulls, (cap + 7) >> 3);
    this.cap = cap;
  }
}

function growBytes(a: Uint8Array, n: number): Uint8Array {
  if (n <= a.length) return a;
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
/** A copy of `a` resized to `n` elements (contents kept up to `n`), of the same array type. */
function grow<T extends Int16Array | Int32Array | Float32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (length: number) => T)(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}

/** Doubles a column's value capacity. */
function growValues(col: Column): void {
  col.allocate(col.cap * 2, col.data.length);
}

/** Makes room for `more` bytes of variable-width data. */
function growData(col: Column, more: number): void {
  const need = col.dataLen + more;
  if (need > INT32_MAX) {
    throw new RangeError(
      `column ${col.spec.name}: more than 2 GiB of data in one batch (Arrow's 32-bit offsets): lower batch.bytes`,
    );
  }
  col.data = growBytes(col.data, Math.min(INT32_MAX, Math.max(need, col.data.length * 2)));
}

function kindCode(kind: DecoderKind, opts: TypeOptions): number {
  switch (kind) {
    case 'bool':
      return K_BOOL;
    case 'int2':
      return K_INT2;
    case 'int4':
      return K_INT4;
    case 'int8':
      return K_INT8;
    case 'float4':
      return K_FLOAT4;
    case 'float8':
      return K_FLOAT8;
    case 'date':
      return K_DATE;
    case 'time':
      return K_TIME;
    case 'timestamp':
    case 'timestamptz':
      return opts.timestampUnit === 'ms' ? K_TS_MS : K_TS_US;
    case 'text':
    case 'json':
    case 'bytea':
      return K_BYTES;
    case 'jsonb':
      return K_JSONB;
    case 'uuid':
      return K_UUID;
    case 'numeric-decimal':
      return K_DECIMAL;
    case 'numeric-string':
      return K_NUMERIC_TEXT;
    case 'array':
      return K_LIST;
  }
}

/** A fresh column for `spec`, sized after the same column of the previous batch (if any). */
function newColumn(
  spec: ColumnSpec,
  type: DataType,
  opts: TypeOptions,
  cap: number,
  prev: Column | null,
  maxValues = Infinity,
): Column {
  // Size for the previous batch's volume plus a margin, so that steady batches never regrow
  // (but never beyond the batch's row limit: a cut by rows fills the columns exactly).
  const valueCap = Math.min(prev ? prev.n + (prev.n >> 3) + 16 : cap, maxValues);
  const dataCap = prev ? prev.dataLen + (prev.dataLen >> 3) + 256 : cap * 16;
  const col = new Column(kindCode(spec.kind, opts), spec, type, valueCap, dataCap);
  col.infinity = INFINITY_CODES[opts.infinity ?? 'error'];
  if (spec.kind === 'numeric-decimal') {
    col.precision = spec.precision ?? 38;
    col.scale = spec.scale ?? 0;
  }
  if (spec.kind === 'array') {
    if (!spec.element) throw new TypeError(`array column ${spec.name} has no element spec`);
    const childType = (type.children[0] as Field<DataType> | undefined)?.type;
    if (!childType) throw new TypeError(`array column ${spec.name} has no child type`);
    col.child = newColumn(spec.element, childType, opts, cap * 4, prev?.child ?? null);
  }
  return col;
}

/** Empties a column for reuse, keeping its buffers (bits are OR-ed in, so they are cleared). */
function emptyColumn(col: Column): void {
  col.n = 0;
  col.nullCount = 0;
  col.nulls?.fill(0);
  if (col.kind === K_BOOL) col.bits.fill(0);
  col.dataLen = 0;
  if (col.offsets.length > 0) col.offsets[0] = 0;
  col.clampedFirst = false;
  col.clampedLast = -1;
  if (col.child) emptyColumn(col.child);
}

/** Marks slot `n` NULL (a fixed-width slot keeps whatever it holds). */
function setNull(col: Column, n: number): void {
  let nulls = col.nulls;
  if (nulls === null) nulls = col.nulls = new Uint8Array((col.cap + 7) >> 3);
  nulls[n >> 3]! |= 1 << (n & 7);
  col.nullCount++;
}

/** Appends a NULL. */
function appendNull(col: Column): void {
  const n = col.n;
  if (n === col.cap) growValues(col);
  setNull(col, n);
  const k = col.kind;
  if (k >= K_BYTES) {
    // Variable-width and lists: an empty slot. (Fixed-width slots keep whatever they hold.)
    col.offsets[n + 1] = k === K_LIST ? col.offsets[n]! : col.dataLen;
  }
  col.n = n + 1;
}

/**
 * Appends one non-NULL field of `len` bytes at `pos`. Checks every precondition before writing,
 * so that a thrown problem leaves the column as it was (lists: see {@link truncate}).
 */
function appendValue(col: Column, buf: Uint8Array, view: DataView, pos: number, len: number): void {
  const n = col.n;
  if (n === col.cap) growValues(col);
  switch (col.kind) {
    case K_INT4: {
      if (len !== 4) badLength(col, len, 4);
      col.i32[n] = view.getInt32(pos);
      break;
    }
    case K_INT8:
    case K_TIME: {
      if (len !== 8) badLength(col, len, 8);
      const a = col.i32;
      a[2 * n] = view.getInt32(pos + 4);
      a[2 * n + 1] = view.getInt32(pos);
      break;
    }
    case K_TS_US: {
      if (len !== 8) badLength(col, len, 8);
      const hi = view.getInt32(pos);
      const lo = view.getUint32(pos + 4);
      if (infiniteTimestamp(col, n, hi, lo, CLAMP_US_MAX, CLAMP_US_MIN)) break;
      // 64-bit add of the 2000 → 1970 epoch shift, in 32-bit words.
      const sumLo = lo + TS_EPOCH_US_LO;
      const sumHi = hi + TS_EPOCH_US_HI + (sumLo >= TWO_32 ? 1 : 0);
      if (sumHi > INT32_MAX) {
        throw new ValueProblem(
          `${timestampText(hi, lo)} µs since 2000 (beyond int64 µs since 1970)`,
          UNSUPPORTED_VALUE_OPTIONS.timestampUnit,
        );
      }
      const a = col.i32;
      a[2 * n] = sumLo | 0;
      a[2 * n + 1] = sumHi;
      break;
    }
    case K_TS_MS: {
      if (len !== 8) badLength(col, len, 8);
      const hi = view.getInt32(pos);
      const lo = view.getUint32(pos + 4);
      if (infiniteTimestamp(col, n, hi, lo, CLAMP_MS_MAX, CLAMP_MS_MIN)) break;
      if (n === 0) {
        col.rawFirstHi = hi;
        col.rawFirstLo = lo;
      }
      col.rawLastHi = hi;
      col.rawLastLo = lo;
      // floor(v / 1000) for v = hi·2³² + lo, exactly: hi = 1000·qh + r (0 ≤ r < 1000), so
      // v = 1000·qh·2³² + (r·2³² + lo) and the second term (< 2⁴²) divides exactly in a double.
      const qh = Math.floor(hi / 1000);
      const ql = Math.floor(((hi - qh * 1000) * TWO_32 + lo) / 1000);
      const sumLo = ql + TS_EPOCH_MS_LO;
      const a = col.i32;
      a[2 * n] = sumLo | 0;
      a[2 * n + 1] = qh + TS_EPOCH_MS_HI + (sumLo >= TWO_32 ? 1 : 0);
      break;
    }
    case K_BYTES: {
      let at = col.dataLen;
      if (at + len > col.data.length) growData(col, len);
      const d = col.data;
      if (len < SMALL_COPY) for (let i = 0; i < len; i++) d[at++] = buf[pos + i]!;
      else {
        d.set(buf.subarray(pos, pos + len), at);
        at += len;
      }
      col.dataLen = at;
      col.offsets[n + 1] = at;
      break;
    }
    case K_FLOAT8: {
      if (len !== 8) badLength(col, len, 8);
      col.f64[n] = view.getFloat64(pos);
      break;
    }
    case K_DATE: {
      if (len !== 4) badLength(col, len, 4);
      const v = view.getInt32(pos);
      if (v === INT32_MAX || v === INT32_MIN) {
        if (col.infinity === INF_ERROR) {
          throw new ValueProblem(v > 0 ? 'infinity' : '-infinity', UNSUPPORTED_VALUE_OPTIONS.infinity);
        }
        if (col.infinity === INF_NULL) setNull(col, n);
        else {
          col.i32[n] = v > 0 ? CLAMP_DATE_MAX : CLAMP_DATE_MIN;
          markClamped(col, n);
        }
        break;
      }
      // PostgreSQL's last date (5874897-12-31) is 2145031948 days after 2000: no int32 overflow.
      col.i32[n] = v + DATE_EPOCH_DAYS;
      break;
    }
    case K_BOOL: {
      if (len !== 1) badLength(col, len, 1);
      if (buf[pos] !== 0) col.bits[n >> 3]! |= 1 << (n & 7);
      break;
    }
    case K_INT2: {
      if (len !== 2) badLength(col, len, 2);
      col.i16[n] = view.getInt16(pos);
      break;
    }
    case K_FLOAT4: {
      if (len !== 4) badLength(col, len, 4);
      col.f32[n] = view.getFloat32(pos);
      break;
    }
    case K_JSONB: {
      // jsonb's binary form is a version byte (1) and then the JSON text.
      if (len < 1 || buf[pos] !== 1) {
        throw new CopyFormatError(
          `column ${col.spec.name}: unknown jsonb binary version ${buf[pos] ?? 'none'} (expected 1)`,
        );
      }
      let at = col.dataLen;
      const textLen = len - 1;
      if (at + textLen > col.data.length) growData(col, textLen);
      const d = col.data;
      if (textLen < SMALL_COPY) for (let i = 1; i < len; i++) d[at++] = buf[pos + i]!;
      else {
        d.set(buf.subarray(pos + 1, pos + len), at);
        at += textLen;
      }
      col.dataLen = at;
      col.offsets[n + 1] = at;
      break;
    }
    case K_UUID: {
      if (len !== 16) badLength(col, len, 16);
      let at = col.dataLen;
      if (at + 36 > col.data.length) growData(col, 36);
      // 8-4-4-4-12, unrolled by group: no per-byte test for where the dashes go.
      const d = col.data;
      at = writeHex(d, at, buf, pos, 4);
      d[at++] = 0x2d;
      at = writeHex(d, at, buf, pos + 4, 2);
      d[at++] = 0x2d;
      at = writeHex(d, at, buf, pos + 6, 2);
      d[at++] = 0x2d;
      at = writeHex(d, at, buf, pos + 8, 2);
      d[at++] = 0x2d;
      at = writeHex(d, at, buf, pos + 10, 6);
      col.dataLen = at;
      col.offsets[n + 1] = at;
      break;
    }
    case K_DECIMAL:
      appendDecimal(col, view, pos, len);
      break;
    case K_NUMERIC_TEXT: {
      checkNumericLength(col, view, pos, len);
      const max = numericTextBound(view, pos);
      if (col.dataLen + max > col.data.length) growData(col, max);
      col.dataLen = writeNumericText(view, pos, col.data, col.dataLen);
      col.offsets[n + 1] = col.dataLen;
      break;
    }
    case K_LIST:
      appendList(col, buf, view, pos, len);
      break;
  }
  col.n = n + 1;
}

/** Lower-case hex of `count` bytes of `src` at `from`, into `out` at `at`; returns the end. */
function writeHex(out: Uint8Array, at: number, src: Uint8Array, from: number, count: number): number {
  for (let i = 0; i < count; i++) {
    const b = src[from + i]!;
    out[at++] = HEX_HI[b]!;
    out[at++] = HEX_LO[b]!;
  }
  return at;
}

function badLength(col: Column, len: number, expected: number): never {
  throw new CopyFormatError(
    `column ${col.spec.name} (${col.spec.pgType}): a ${len}-byte field where ${expected} bytes were expected; ` +
      'did the table change since the export was planned?',
  );
}

/**
 * Handles a timestamp's ±infinity per the column's mode: marks row `n` NULL, or writes the clamp
 * limit (`max` / `min`, as words). False when the value is finite; throws in "error" mode.
 */
function infiniteTimestamp(
  col: Column,
  n: number,
  hi: number,
  lo: number,
  max: readonly [number, number],
  min: readonly [number, number],
): boolean {
  const inf = hi === INT32_MAX && lo === 0xffffffff ? 1 : hi === INT32_MIN && lo === 0 ? -1 : 0;
  if (inf === 0) return false;
  if (col.infinity === INF_ERROR) {
    throw new ValueProblem(inf > 0 ? 'infinity' : '-infinity', UNSUPPORTED_VALUE_OPTIONS.infinity);
  }
  if (col.infinity === INF_NULL) {
    setNull(col, n);
    return true;
  }
  const limit = inf > 0 ? max : min;
  col.i32[2 * n] = limit[0];
  col.i32[2 * n + 1] = limit[1];
  markClamped(col, n);
  return true;
}

/** Remembers that row `n` holds a clamped value, which must not serve as a resume cursor. */
function markClamped(col: Column, n: number): void {
  if (n === 0) col.clampedFirst = true;
  col.clampedLast = n;
}

/** A raw (2000-based) timestamp as text, for messages. */
function timestampText(hi: number, lo: number): string {
  return ((BigInt(hi) << 32n) + BigInt(lo >>> 0)).toString();
}

function checkNumericLength(col: Column, view: DataView, pos: number, len: number): void {
  if (len < 8 || len !== 8 + 2 * view.getInt16(pos)) {
    throw new CopyFormatError(
      `column ${col.spec.name} (${col.spec.pgType}): malformed numeric of ${len} bytes`,
    );
  }
}

/** Scratch for 128-bit arithmetic: eight 16-bit limbs, little-endian. */
const LIMBS = new Uint32Array(8);

/** LIMBS = LIMBS · m + a (m ≤ 10000: every partial product stays far below 2³²). */
function limbsMulAdd(m: number, a: number): void {
  let carry = a;
  for (let i = 0; i < 8; i++) {
    const t = LIMBS[i]! * m + carry;
    LIMBS[i] = t & 0xffff;
    carry = t >>> 16;
  }
}

/**
 * numeric(p,s) → Decimal128(p,s): the exact integer value·10^s as a 128-bit two's complement in
 * four little-endian words. Values of up to 15 digits (most columns) are computed in doubles,
 * where every step is exact; wider ones in 16-bit limbs. No BigInt.
 */
function appendDecimal(col: Column, view: DataView, pos: number, len: number): void {
  checkNumericLength(col, view, pos, len);
  const ndigits = view.getInt16(pos);
  const weight = view.getInt16(pos + 2);
  const sign = view.getUint16(pos + 4);
  if (sign === NUMERIC_NAN || sign === NUMERIC_PINF || sign === NUMERIC_NINF) {
    const value = sign === NUMERIC_NAN ? 'NaN' : sign === NUMERIC_PINF ? 'Infinity' : '-Infinity';
    throw new ValueProblem(value, UNSUPPORTED_VALUE_OPTIONS.numericAsString);
  }
  const scale = col.scale;
  const w = col.i32;
  const at = 4 * col.n;
  // Leading zero groups are never sent, but cost nothing to skip.
  let first = 0;
  while (first < ndigits && view.getInt16(pos + 8 + 2 * first) === 0) first++;
  if (first === ndigits) {
    w[at] = w[at + 1] = w[at + 2] = w[at + 3] = 0;
    return;
  }
  const d0 = view.getInt16(pos + 8 + 2 * first);
  // Digits of the scaled integer: those of the leading group, 4 per group after it, plus the scale.
  const digits = 4 * (weight - first) + (d0 >= 1000 ? 4 : d0 >= 100 ? 3 : d0 >= 10 ? 2 : 1) + scale;
  if (digits > col.precision) {
    throw new ValueProblem(
      `${numericString(view, pos)} (more than ${col.precision} digits)`,
      UNSUPPORTED_VALUE_OPTIONS.numericAsString,
    );
  }
  // Group k's last digit stands for 10^e, e = 4·(weight − k) + scale. Groups with e ≥ 0 are
  // whole digits of the scaled integer; a group with −4 < e < 0 is cut by the scale (its cut
  // digits must be zero: PostgreSQL rounds values to the column's scale); later groups must be 0.
  let e = 4 * (weight - first) + scale;
  let exact = true;
  if (digits <= 15) {
    let acc = 0;
    for (let k = first; k < ndigits; k++, e -= 4) {
      const d = view.getInt16(pos + 8 + 2 * k);
      if (e >= 0) acc = acc * 10000 + d;
      else if (e > -4) {
        const p = POW10[-e]!;
        if (d % p !== 0) exact = false;
        acc = acc * POW10[4 + e]! + Math.floor(d / p);
      } else if (d !== 0) exact = false;
    }
    if (e + 4 > 0) acc *= 10 ** (e + 4);
    if (!exact) inexact(col, view, pos);
    const lo = acc % TWO_32;
    w[at] = lo | 0;
    w[at + 1] = (acc - lo) / TWO_32;
    w[at + 2] = 0;
    w[at + 3] = 0;
  } else {
    LIMBS.fill(0);
    for (let k = first; k < ndigits; k++, e -= 4) {
      const d = view.getInt16(pos + 8 + 2 * k);
      if (e >= 0) limbsMulAdd(10000, d);
      else if (e > -4) {
        const p = POW10[-e]!;
        if (d % p !== 0) exact = false;
        limbsMulAdd(POW10[4 + e]!, Math.floor(d / p));
      } else if (d !== 0) exact = false;
    }
    if (!exact) inexact(col, view, pos);
    for (let t = e + 4; t > 0; t -= 4) limbsMulAdd(POW10[Math.min(t, 4)]!, 0);
    for (let i = 0; i < 4; i++) w[at + i] = LIMBS[2 * i]! | (LIMBS[2 * i + 1]! << 16);
  }
  if (sign === NUMERIC_NEG) {
    // Two's complement negation over the four words.
    let carry = 1;
    for (let i = 0; i < 4; i++) {
      const v = (~w[at + i]! >>> 0) + carry;
      w[at + i] = v | 0;
      carry = v >= TWO_32 ? 1 : 0;
    }
  }
}

function inexact(col: Column, view: DataView, pos: number): never {
  throw new ValueProblem(
    `${numericString(view, pos)} (more than ${col.scale} decimal places)`,
    UNSUPPORTED_VALUE_OPTIONS.numericAsString,
  );
}

/** An upper bound of the length of {@link writeNumericText}'s output. */
function numericTextBound(view: DataView, pos: number): number {
  const weight = view.getInt16(pos + 2);
  const dscale = view.getInt16(pos + 6);
  return 12 + 4 * Math.max(weight + 1, 1) + Math.max(dscale, 0);
}

/**
 * Writes numeric's text exactly as PostgreSQL prints it (numeric_out): sign, the integer part
 * without leading zeros (`0` when there is none), and `dscale` fraction digits (so `1.50`,
 * `0.0001`, `-123`); `NaN`, `Infinity`, `-Infinity`. ASCII straight into `out`; returns the end.
 */
function writeNumericText(view: DataView, pos: number, out: Uint8Array, at: number): number {
  const ndigits = view.getInt16(pos);
  const weight = view.getInt16(pos + 2);
  const sign = view.getUint16(pos + 4);
  const dscale = view.getInt16(pos + 6);
  let special: string | undefined;
  if (sign === NUMERIC_NAN) special = 'NaN';
  else if (sign === NUMERIC_PINF) special = 'Infinity';
  else if (sign === NUMERIC_NINF) special = '-Infinity';
  if (special !== undefined) {
    for (let i = 0; i < special.length; i++) out[at++] = special.charCodeAt(i);
    return at;
  }
  if (sign === NUMERIC_NEG) out[at++] = 0x2d;
  if (weight < 0) out[at++] = 0x30;
  else {
    for (let k = 0; k <= weight; k++) {
      const g = k < ndigits ? view.getInt16(pos + 8 + 2 * k) : 0;
      if (k === 0) {
        // The leading group without its leading zeros.
        if (g >= 1000) out[at++] = 0x30 + ((g / 1000) | 0);
        if (g >= 100) out[at++] = 0x30 + (((g / 100) | 0) % 10);
        if (g >= 10) out[at++] = 0x30 + (((g / 10) | 0) % 10);
        out[at++] = 0x30 + (g % 10);
      } else at = writeGroup(out, at, g, 4);
    }
  }
  if (dscale > 0) {
    out[at++] = 0x2e;
    let left = dscale;
    for (let k = weight + 1; left > 0; k++) {
      const g = k >= 0 && k < ndigits ? view.getInt16(pos + 8 + 2 * k) : 0;
      const take = left < 4 ? left : 4;
      at = writeGroup(out, at, g, take);
      left -= take;
    }
  }
  return at;
}

/** The first `take` digits of a zero-padded 4-digit group. */
function writeGroup(out: Uint8Array, at: number, g: number, take: number): number {
  out[at++] = 0x30 + ((g / 1000) | 0);
  if (take > 1) out[at++] = 0x30 + (((g / 100) | 0) % 10);
  if (take > 2) out[at++] = 0x30 + (((g / 10) | 0) % 10);
  if (take > 3) out[at++] = 0x30 + (g % 10);
  return at;
}

/** numeric's binary form (at `pos` of `view`) as the text PostgreSQL prints. */
export function numericText(view: DataView, pos: number): string {
  return numericString(view, pos);
}

function numericString(view: DataView, pos: number): string {
  const out = new Uint8Array(numericTextBound(view, pos));
  const end = writeNumericText(view, pos, out, 0);
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(out[i]!);
  return s;
}

/**
 * A one-dimensional array → one List entry; an empty array (ndim 0) → an empty list; NULL
 * elements → NULL children. Layout: int32 ndim, int32 has-nulls, int32 element OID, per
 * dimension (int32 size, int32 lower bound), then per element an int32 length (-1 = NULL) and
 * the bytes.
 */
function appendList(col: Column, buf: Uint8Array, view: DataView, pos: number, len: number): void {
  const child = col.child!;
  const end = pos + len;
  if (len < 12) throw new CopyFormatError(`column ${col.spec.name}: malformed array of ${len} bytes`);
  const ndim = view.getInt32(pos);
  if (ndim > 1) {
    throw new ValueProblem(`a ${ndim}-dimensional array`, UNSUPPORTED_VALUE_OPTIONS.arraysAsText);
  }
  if (ndim === 1) {
    if (len < 20) throw new CopyFormatError(`column ${col.spec.name}: malformed array of ${len} bytes`);
    const count = view.getInt32(pos + 12);
    let q = pos + 20;
    for (let e = 0; e < count; e++) {
      if (q + 4 > end) throw new CopyFormatError(`column ${col.spec.name}: array elements overrun the field`);
      const elen = view.getInt32(q);
      q += 4;
      if (elen < 0) appendNull(child);
      else {
        if (q + elen > end)
          throw new CopyFormatError(`column ${col.spec.name}: array element overruns the field`);
        appendValue(child, buf, view, q, elen);
        q += elen;
      }
    }
    if (q !== end)
      throw new CopyFormatError(`column ${col.spec.name}: ${end - q} stray bytes after the array`);
  } else if (ndim !== 0) {
    throw new CopyFormatError(`column ${col.spec.name}: array with ${ndim} dimensions`);
  }
  col.offsets[col.n + 1] = child.n;
}

/**
 * Shrinks a column back to `m` values (undoing the appends of a row cut by a chunk boundary).
 * For lists it also drops child values beyond the list's offsets, which a failed append may
 * have left.
 */
function truncate(col: Column, m: number): void {
  const k = col.kind;
  for (let i = m; i < col.n; i++) {
    const bit = 1 << (i & 7);
    const nulls = col.nulls;
    if (nulls !== null && (nulls[i >> 3]! & bit) !== 0) {
      nulls[i >> 3]! &= ~bit;
      col.nullCount--;
    }
    if (k === K_BOOL) col.bits[i >> 3]! &= ~bit;
  }
  if (m < col.n) col.n = m;
  if (k === K_LIST) truncate(col.child!, col.offsets[col.n]!);
  else if (k >= K_BYTES) col.dataLen = col.offsets[col.n]!;
}

/** Keeps `a` when it is mostly used, else copies the used part (so a batch pins little slack). */
function trim<T extends Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array>(
  a: T,
  used: number,
): T {
  if (used >= a.length - (a.length >> 3) - 64) return a.subarray(0, used) as T;
  return a.slice(0, used) as T;
}

/** The column as Arrow Data (validity omitted when there is no NULL). */
function finishColumn(col: Column): Data {
  const n = col.n;
  let nullBitmap: Uint8Array | undefined;
  if (col.nullCount > 0) {
    const bytes = (n + 7) >> 3;
    nullBitmap = new Uint8Array(bytes);
    const nulls = col.nulls!;
    for (let i = 0; i < bytes; i++) nullBitmap[i] = ~nulls[i]!;
    if (n & 7) nullBitmap[bytes - 1]! &= (1 << (n & 7)) - 1;
  }
  const base = { type: col.type, length: n, nullCount: col.nullCount, nullBitmap };
  let extra: Record<string, unknown>;
  switch (col.kind) {
    case K_BOOL:
      extra = { data: trim(col.bits, (n + 7) >> 3) };
      break;
    case K_INT2:
      extra = { data: trim(col.i16, n) };
      break;
    case K_INT4:
    case K_DATE:
      extra = { data: trim(col.i32, n) };
      break;
    case K_INT8:
    case K_TIME:
    case K_TS_US:
    case K_TS_MS: {
      // The (lo, hi) word pairs are little-endian int64s: hand Arrow a BigInt64Array view.
      const words = trim(col.i32, 2 * n);
      extra = { data: new BigInt64Array(words.buffer, words.byteOffset, n) };
      break;
    }
    case K_DECIMAL: {
      const words = trim(col.i32, 4 * n);
      extra = { data: new Uint32Array(words.buffer, words.byteOffset, 4 * n) };
      break;
    }
    case K_FLOAT4:
      extra = { data: trim(col.f32, n) };
      break;
    case K_FLOAT8:
      extra = { data: trim(col.f64, n) };
      break;
    case K_LIST:
      extra = { valueOffsets: trim(col.offsets, n + 1), child: finishColumn(col.child!) };
      break;
    default:
      extra = { valueOffsets: trim(col.offsets, n + 1), data: trim(col.data, col.dataLen) };
  }
  return makeData({ ...base, ...extra } as never);
}

/** Lo/hi words of a signed 64-bit integer → decimal text. */
function int64Text(lo: number, hi: number): string {
  return ((BigInt(hi) << 32n) + BigInt(lo >>> 0)).toString();
}

/** Row `i`'s value of a cursor-capable column in the cursor's integer form, or null. */
function cursorAt(col: Column, i: number): string | null {
  if (col.nulls !== null && (col.nulls[i >> 3]! & (1 << (i & 7))) !== 0) return null;
  // A clamped ±infinity is not the row's real cursor value: resuming after it would repeat rows.
  if ((i === 0 && col.clampedFirst) || col.clampedLast === i) return null;
  switch (col.kind) {
    case K_INT2:
      return String(col.i16[i]);
    case K_INT4:
    case K_DATE:
      return String(col.i32[i]);
    case K_INT8:
    case K_TS_US:
      return int64Text(col.i32[2 * i]!, col.i32[2 * i + 1]!);
    case K_TS_MS: {
      // Stored in ms; the cursor keeps µs, from the raw words of the first/last value.
      const first = i === 0;
      const raw =
        (BigInt(first ? col.rawFirstHi : col.rawLastHi) << 32n) +
        BigInt(first ? col.rawFirstLo : col.rawLastLo);
      return (raw + TS_EPOCH_US).toString();
    }
    default:
      return null;
  }
}

/**
 * Streaming binary COPY → Arrow RecordBatch decoder. Feed it chunks with {@link push}, collect
 * the batches it returns, then call {@link finish} once for the last partial batch. Any error
 * leaves the decoder failed: later calls throw the same error.
 */
export class CopyBinaryDecoder {
  /** The Arrow schema of every batch (one field per spec, in order). */
  readonly schema: Schema;
  private readonly struct: Struct;
  private readonly types: DataType[];
  private readonly ncols: number;
  private readonly cursorIndex: number;
  private readonly initialCap: number;
  private columns: Column[];
  /** The columns behind each returned batch, until the caller releases it. */
  private readonly owners = new WeakMap<DecodedBatch, Column[]>();
  /** Columns of a released batch, reused (emptied) by the next cut instead of new buffers. */
  private spare: Column[] | null = null;
  private headerDone = false;
  private ended = false;
  private finished = false;
  private failed: Error | undefined = undefined;
  /** Rows and field bytes of the batch being built. */
  private rows = 0;
  private bytes = 0;
  private total = 0;
  private pending: DecodedBatch[] = [];
  /** The unfinished unit (header, row or trailer) that straddles chunks. */
  private carry: Uint8Array = new Uint8Array(256);
  private carryView = new DataView(this.carry.buffer);
  private carryLen = 0;
  /** How far the straddling row's field lengths have been checked (field index and position). */
  private walkField = -1;
  private walkPos = 0;

  constructor(
    private readonly specs: readonly ColumnSpec[],
    private readonly opts: DecoderOptions,
  ) {
    if (!(opts.batchRows >= 1) || !(opts.batchBytes >= 1)) {
      throw new RangeError(
        `batchRows and batchBytes must be positive (got ${opts.batchRows}, ${opts.batchBytes})`,
      );
    }
    if (opts.cursorColumn >= specs.length)
      throw new RangeError(`cursorColumn ${opts.cursorColumn} out of range`);
    this.schema = new Schema(specs.map((s) => arrowField(s, opts.typeOptions)));
    this.struct = new Struct(this.schema.fields);
    this.types = this.schema.fields.map((f) => f.type as DataType);
    this.ncols = specs.length;
    if (this.ncols === 0) throw new RangeError('no columns to decode');
    this.cursorIndex = opts.cursorColumn;
    this.initialCap = Math.min(Math.ceil(opts.batchRows), 4096);
    this.columns = this.newColumns(null);
  }

  /** Rows decoded so far, in all batches (returned or still being built). */
  get rowsDecoded(): number {
    return this.total;
  }

  /**
   * Tells the decoder that `batch` is no longer used (its data was copied, e.g. serialized to IPC):
   * a later batch is then built in its buffers instead of new ones, which keeps allocation and
   * garbage-collection pressure at one batch. Using `batch` after releasing it reads other rows.
   */
  release(batch: DecodedBatch): void {
    const cols = this.owners.get(batch);
    if (!cols) return;
    this.owners.delete(batch);
    this.spare = cols;
  }

  /** Feeds a chunk (any size, any boundary); returns the batches it completed, in order. */
  push(chunk: Uint8Array): DecodedBatch[] {
    if (this.failed !== undefined) throw this.failed;
    if (this.finished) throw new CopyFormatError('push() after finish()');
    try {
      return this.pushChunk(chunk);
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  /**
   * Ends the stream: returns the last partial batch, or null when there is none. Throws a
   * {@link CopyFormatError} when the stream was cut short (no header, no trailer, or an
   * unfinished row) or bytes follow the trailer.
   */
  finish(): DecodedBatch | null {
    if (this.failed !== undefined) throw this.failed;
    if (this.finished) throw new CopyFormatError('finish() called twice');
    this.finished = true;
    try {
      if (!this.headerDone) throw new CopyFormatError('COPY stream ended before its header (truncated)');
      if (!this.ended) {
        throw new CopyFormatError(
          `COPY stream ended without its trailer (truncated${this.carryLen > 0 ? ` inside a row, ${this.carryLen} bytes pending` : ''})`,
        );
      }
      if (this.carryLen > 0) throw new CopyFormatError(`${this.carryLen} bytes after the COPY trailer`);
      return this.rows > 0 ? this.cut() : null;
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  private pushChunk(chunk: Uint8Array): DecodedBatch[] {
    const n = chunk.length;
    if (n === 0) return [];
    if (this.ended) throw new CopyFormatError('data after the end of the COPY stream');
    let off = 0;
    if (this.carryLen > 0) {
      // Top the carry up with just the bytes its unit still needs, then decode it from there.
      for (;;) {
        const need = this.carryNeed();
        if (need <= this.carryLen) break;
        const take = Math.min(need - this.carryLen, n - off);
        if (take === 0) return this.takePending();
        this.appendCarry(chunk, off, take);
        off += take;
      }
      const used = this.decode(this.carry, this.carryView, 0, this.carryLen);
      if (used !== this.carryLen) throw new Error('internal: the carried row did not decode whole');
      this.carryLen = 0;
      this.walkField = -1;
      if (this.carry.length > CARRY_KEEP) {
        this.carry = new Uint8Array(256);
        this.carryView = new DataView(this.carry.buffer);
      }
      if (off < n && this.ended) throw new CopyFormatError('data after the end of the COPY stream');
    }
    if (off < n) {
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const stop = this.decode(chunk, view, off, n);
      if (stop < n) this.appendCarry(chunk, stop, n - stop);
    }
    return this.takePending();
  }

  private takePending(): DecodedBatch[] {
    const out = this.pending;
    if (out.length > 0) this.pending = [];
    return out;
  }

  private appendCarry(src: Uint8Array, from: number, count: number): void {
    const need = this.carryLen + count;
    if (need > this.carry.length) {
      const next = new Uint8Array(Math.max(need, this.carry.length * 2));
      next.set(this.carry.subarray(0, this.carryLen));
      this.carry = next;
      this.carryView = new DataView(next.buffer);
    }
    this.carry.set(src.subarray(from, from + count), this.carryLen);
    this.carryLen = need;
  }

  /**
   * How many bytes the carried unit needs before it can be decoded: ≤ carryLen when it is
   * complete. Resumes where the previous call stopped, so a large row arriving in many chunks
   * costs one walk over its field lengths.
   */
  private carryNeed(): number {
    const v = this.carryView;
    const len = this.carryLen;
    if (!this.headerDone) {
      if (len < HEADER_BYTES) return HEADER_BYTES;
      const ext = v.getInt32(15);
      if (ext < 0) throw new CopyFormatError(`bad COPY header extension length ${ext}`);
      return HEADER_BYTES + ext;
    }
    if (len < 2) return 2;
    if (this.walkField < 0) {
      const fields = v.getInt16(0);
      if (fields === -1) return 2;
      if (fields !== this.ncols) throw this.fieldCountError(fields);
      this.walkField = 0;
      this.walkPos = 2;
    }
    while (this.walkField < this.ncols) {
      const q = this.walkPos;
      if (q + 4 > len) return q + 4;
      const flen = v.getInt32(q);
      if (flen < -1) throw new CopyFormatError(`bad field length ${flen}`);
      const end = q + 4 + (flen > 0 ? flen : 0);
      if (end > len) return end;
      this.walkPos = end;
      this.walkField++;
    }
    return this.walkPos;
  }

  private fieldCountError(fields: number): CopyFormatError {
    return new CopyFormatError(`a COPY row has ${fields} fields, ${this.ncols} were expected`);
  }

  /**
   * Decodes whole units (header, rows, trailer) from `buf[start, end)`; returns where the first
   * incomplete one starts (== end when none). Cuts batches into `pending`.
   */
  private decode(buf: Uint8Array, view: DataView, start: number, end: number): number {
    let p = start;
    if (!this.headerDone) {
      if (end - p < HEADER_BYTES) return p;
      for (let i = 0; i < SIGNATURE.length; i++) {
        if (buf[p + i] !== SIGNATURE[i])
          throw new CopyFormatError('not a binary COPY stream (bad signature)');
      }
      const flags = view.getInt32(p + 11);
      if (flags & FLAG_OIDS) throw new CopyFormatError('binary COPY with OIDs is not supported');
      const ext = view.getInt32(p + 15);
      if (ext < 0) throw new CopyFormatError(`bad COPY header extension length ${ext}`);
      if (end - p < HEADER_BYTES + ext) return p;
      p += HEADER_BYTES + ext;
      this.headerDone = true;
    }
    const ncols = this.ncols;
    const rowOverhead = 2 + 4 * ncols;
    const { batchRows, batchBytes } = this.opts;
    let columns = this.columns;
    while (p + 2 <= end) {
      if (this.ended) throw new CopyFormatError('data after the end of the COPY stream');
      const fields = view.getInt16(p);
      if (fields !== ncols) {
        if (fields === -1) {
          this.ended = true;
          p += 2;
          continue;
        }
        throw this.fieldCountError(fields);
      }
      let q = p + 2;
      let c = 0;
      try {
        for (; c < ncols; c++) {
          if (q + 4 > end) break;
          const len = view.getInt32(q);
          q += 4;
          if (len < 0) {
            if (len !== -1) throw new CopyFormatError(`bad field length ${len}`);
            appendNull(columns[c]!);
          } else {
            if (q + len > end) break;
            appendValue(columns[c]!, buf, view, q, len);
            q += len;
          }
        }
      } catch (err) {
        if (!(err instanceof ValueProblem)) throw err;
        // Report it with the row's own cursor: if the row is not all here yet, carry it and
        // decode it again (the problem recurs) once it is.
        if (rowEnd(view, p, end, ncols) < 0) {
          this.rollback(columns, c, true);
          return p;
        }
        throw this.unsupported(err, c, view, p);
      }
      if (c < ncols) {
        this.rollback(columns, c, false);
        return p;
      }
      this.bytes += q - p - rowOverhead;
      this.total++;
      p = q;
      if (++this.rows >= batchRows || this.bytes >= batchBytes) {
        this.pending.push(this.cut());
        columns = this.columns;
      }
    }
    return p;
  }

  /** Undoes a partial row: columns before `c` got a value; column `c` may hold a failed one. */
  private rollback(columns: Column[], c: number, failedAtC: boolean): void {
    for (let i = 0; i < c; i++) {
      const col = columns[i]!;
      truncate(col, col.n - 1);
    }
    if (failedAtC) truncate(columns[c]!, columns[c]!.n);
  }

  private newColumns(prev: Column[] | null): Column[] {
    return this.specs.map((s, i) =>
      newColumn(
        s,
        this.types[i]!,
        this.opts.typeOptions,
        this.initialCap,
        prev?.[i] ?? null,
        this.opts.batchRows,
      ),
    );
  }

  private cut(): DecodedBatch {
    const cols = this.columns;
    const rows = this.rows;
    const bytes = this.bytes;
    const children = cols.map(finishColumn);
    const batch = new RecordBatch(
      this.schema,
      makeData({ type: this.struct, length: rows, nullCount: 0, children }),
    );
    const cursor = this.cursorIndex >= 0 ? cols[this.cursorIndex] : undefined;
    const cursorFirst = cursor ? cursorAt(cursor, 0) : null;
    const cursorLast = cursor ? cursorAt(cursor, rows - 1) : null;
    if (this.spare) {
      this.spare.forEach(emptyColumn);
      this.columns = this.spare;
      this.spare = null;
    } else this.columns = this.newColumns(cols);
    this.rows = 0;
    this.bytes = 0;
    const decoded = { batch, rows, bytes, cursorFirst, cursorLast };
    this.owners.set(decoded, cols);
    return decoded;
  }

  /** The typed error for a value of column `c` in the (complete) row starting at `rowStart`. */
  private unsupported(
    problem: ValueProblem,
    c: number,
    view: DataView,
    rowStart: number,
  ): UnsupportedValueError {
    const spec = this.specs[c]!;
    let cursor: string | null = null;
    const ci = this.cursorIndex;
    if (ci >= 0) {
      let q = rowStart + 2;
      for (let i = 0; i < ci; i++) q += 4 + Math.max(0, view.getInt32(q));
      const len = view.getInt32(q);
      if (len >= 0) cursor = rawCursorText(this.specs[ci]!.kind, view, q + 4, len);
    }
    return new UnsupportedValueError(
      this.opts.table,
      spec.name,
      spec.pgType,
      problem.value,
      cursor,
      problem.option,
    );
  }
}

/** End of the row at `p` if all of it is in `[p, end)`, else -1. */
function rowEnd(view: DataView, p: number, end: number, ncols: number): number {
  let q = p + 2;
  for (let c = 0; c < ncols; c++) {
    if (q + 4 > end) return -1;
    const len = view.getInt32(q);
    q += 4 + (len > 0 ? len : 0);
    if (q > end) return -1;
  }
  return q;
}

/** A cursor field straight from the wire, in the cursor's integer form (see {@link DecodedBatch}). */
function rawCursorText(kind: DecoderKind, view: DataView, pos: number, len: number): string | null {
  switch (kind) {
    case 'int2':
      return len === 2 ? String(view.getInt16(pos)) : null;
    case 'int4':
      return len === 4 ? String(view.getInt32(pos)) : null;
    case 'int8':
      return len === 8 ? view.getBigInt64(pos).toString() : null;
    case 'date': {
      if (len !== 4) return null;
      const v = view.getInt32(pos);
      if (v === INT32_MAX || v === INT32_MIN) return v > 0 ? 'infinity' : '-infinity';
      return String(v + DATE_EPOCH_DAYS);
    }
    case 'timestamp':
    case 'timestamptz': {
      if (len !== 8) return null;
      const v = view.getBigInt64(pos);
      if (v === 0x7fffffffffffffffn || v === -0x8000000000000000n) return v > 0n ? 'infinity' : '-infinity';
      return (v + TS_EPOCH_US).toString();
    }
    default:
      return null;
  }
}
