/**
 * The Arrow column buffers the binary COPY decoder fills: growable typed arrays, NULL bits,
 * offsets for variable-width values and lists, and the step that hands them to Arrow
 * (`makeData`, a RecordBatch). A released batch's buffers are emptied and filled again by a later
 * batch, so steady extraction allocates about one batch's worth of memory.
 *
 * What the bytes of one field mean is not decided here (see src/postgres/copy-values.ts); this
 * module only knows each column's storage kind, a small integer the hot loop switches on.
 */
import {
  makeData,
  RecordBatch,
  Struct,
  type Data,
  type DataType,
  type Field,
  type Schema,
} from 'apache-arrow';
import type { ColumnSpec } from './column-spec.js';
import type { InfinityMode, TypeOptions } from '../contract/type-options.js';
import { releaseBuffer } from './release-buffer.js';
import { metadataColumnData, type MetadataColumns } from './transforms.js';

// Storage kinds as small integers: the row loop switches on them (monomorphic, no closures).
// Kinds from K_BYTES on store variable-width values (offsets), K_LIST last.
/** bool: bits. */
export const K_BOOL = 0;
/** int2: Int16Array. */
export const K_INT2 = 1;
/** int4: Int32Array. */
export const K_INT4 = 2;
/** int8: (lo, hi) Int32 word pairs. */
export const K_INT8 = 3;
/** float4: Float32Array. */
export const K_FLOAT4 = 4;
/** float8: Float64Array. */
export const K_FLOAT8 = 5;
/** date: Int32Array of days since 1970. */
export const K_DATE = 6;
/** time: (lo, hi) word pairs of µs since midnight. */
export const K_TIME = 7;
/** timestamp(tz) in µs: (lo, hi) word pairs. */
export const K_TS_US = 8;
/** timestamp(tz) in ms: (lo, hi) word pairs. */
export const K_TS_MS = 9;
/** uuid as arrow.uuid (FixedSizeBinary(16)): its 16 bytes at 16·n in `data`. */
export const K_UUID_BYTES = 10;
/** text/json/bytea: bytes as sent. */
export const K_BYTES = 11;
/** jsonb: bytes without the version byte. */
export const K_JSONB = 12;
/** uuid: its canonical text. */
export const K_UUID = 13;
/** numeric(p,s) → Decimal128: four words a value. */
export const K_DECIMAL = 14;
/** numeric → its text. */
export const K_NUMERIC_TEXT = 15;
/** array → List: offsets into the child column. */
export const K_LIST = 16;

/** `transform.infinity` modes, as small integers for the hot loop: refuse the value… */
export const INF_ERROR = 0;
/** …store NULL… */
export const INF_NULL = 1;
/** …or store the clamp limit. */
const INF_CLAMP = 2;
const INFINITY_CODES: Readonly<Record<InfinityMode, number>> = {
  error: INF_ERROR,
  null: INF_NULL,
  clamp: INF_CLAMP,
};

/** The largest int32, and the most bytes one variable-width column of a batch can hold. */
export const INT32_MAX = 0x7fffffff;

const EMPTY_U8 = new Uint8Array(0);
const EMPTY_I16 = new Int16Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_F32 = new Float32Array(0);
const EMPTY_F64 = new Float64Array(0);

/**
 * One column of the batch being built. One class for every kind (unused buffers stay empty), so
 * that the hot loop only ever sees one object shape.
 */
export class Column {
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
    /** The storage kind (`K_*`). */
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
    else if (k === K_UUID_BYTES) this.data = growBytes(this.data, cap * 16);
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
  releaseBuffer(a);
  return b;
}
/** A copy of `a` resized to `n` elements (contents kept up to `n`), of the same array type. */
function grow<T extends Int16Array | Int32Array | Float32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (length: number) => T)(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  releaseBuffer(a);
  return b;
}

/** Doubles a column's value capacity. */
export function growValues(col: Column): void {
  col.allocate(col.cap * 2, col.data.length);
}

/** Makes room for `more` bytes of variable-width data. */
export function growData(col: Column, more: number): void {
  const need = col.dataLen + more;
  if (need > INT32_MAX) {
    throw new RangeError(
      `column ${col.spec.name}: more than 2 GiB of data in one batch (Arrow's 32-bit offsets): lower batch.bytes`,
    );
  }
  col.data = growBytes(col.data, Math.min(INT32_MAX, Math.max(need, col.data.length * 2)));
}

function kindCode(spec: ColumnSpec, opts: TypeOptions): number {
  switch (spec.kind) {
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
    case 'time-micros':
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
      return spec.extension === 'arrow.uuid' ? K_UUID_BYTES : K_UUID;
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
  const col = new Column(kindCode(spec, opts), spec, type, valueCap, dataCap);
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

/** Frees a column's buffers (its child's too). */
function disposeColumn(col: Column): void {
  for (const a of [col.bits, col.i16, col.i32, col.f32, col.f64, col.offsets, col.data, col.nulls]) {
    if (a) releaseBuffer(a);
  }
  if (col.child) disposeColumn(col.child);
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
export function setNull(col: Column, n: number): void {
  let nulls = col.nulls;
  if (nulls === null) nulls = col.nulls = new Uint8Array((col.cap + 7) >> 3);
  nulls[n >> 3]! |= 1 << (n & 7);
  col.nullCount++;
}

/** Appends a NULL. */
export function appendNull(col: Column): void {
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
 * Shrinks a column back to `m` values (undoing the appends of a row cut by a chunk boundary).
 * For lists it also drops child values beyond the list's offsets, which a failed append may
 * have left.
 */
export function truncate(col: Column, m: number): void {
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

/**
 * The used part of `a`, as a view: never a copy. A batch is serialized and released at once (the
 * extraction's case), so copying out the slack would only allocate; a batch kept unreleased pins
 * its buffers' slack, which is small after the first batch (later columns are sized after it).
 */
function trim<T extends Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array>(
  a: T,
  used: number,
): T {
  return a.subarray(0, used) as T;
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
    case K_UUID_BYTES:
      extra = { data: trim(col.data, 16 * n) };
      break;
    case K_LIST:
      extra = { valueOffsets: trim(col.offsets, n + 1), child: finishColumn(col.child!) };
      break;
    default:
      extra = { valueOffsets: trim(col.offsets, n + 1), data: trim(col.data, col.dataLen) };
  }
  return makeData({ ...base, ...extra } as never);
}

/**
 * The columns of the batch being built, and the batches handed out but not yet released. The
 * schema's first fields are the specs' columns, in order; the fields after them are the
 * per-run constant metadata columns, filled at each cut.
 */
export class BatchColumns {
  /** The columns of the batch being built; null between a cut and the next row (see {@link columns}). */
  private current: Column[] | null;
  /** The columns of the last cut batch: new columns are sized after them. */
  private last: Column[] | null = null;
  private readonly struct: Struct;
  private readonly types: DataType[];
  private readonly initialCap: number;
  /** Columns of a released batch, reused (emptied) by the next cut instead of new buffers. */
  private spare: Column[] | null = null;
  /** The constant columns of the last cut: batches cut by rows all have the same length. */
  private constants: { readonly rows: number; readonly data: Data[] } | null = null;

  constructor(
    private readonly specs: readonly ColumnSpec[],
    /** The batches' schema: one field per spec, then the metadata columns' fields. */
    private readonly schema: Schema,
    private readonly typeOptions: TypeOptions,
    /** The batches' row limit: no column ever needs more values. */
    private readonly batchRows: number,
    /** The per-run constant columns, or undefined for none. */
    private readonly metadata: MetadataColumns | undefined,
  ) {
    this.struct = new Struct(schema.fields);
    this.types = schema.fields.map((f) => f.type as DataType);
    this.initialCap = Math.min(Math.ceil(batchRows), 4096);
    this.current = this.newColumns(null);
  }

  /**
   * The columns of the batch being built, one per spec. After a cut they are made when first
   * asked for: in a released batch's buffers when there is one by then, so a caller that
   * releases each batch before the decoder goes on needs one set of buffers, not two.
   */
  get columns(): Column[] {
    if (this.current === null) {
      if (this.spare) {
        this.spare.forEach(emptyColumn);
        this.current = this.spare;
        this.spare = null;
      } else this.current = this.newColumns(this.last);
      // Only their sizes were needed: a batch not released keeps its own buffers, not these.
      this.last = null;
    }
    return this.current;
  }

  /**
   * Hands the current columns to Arrow as a batch of `rows` rows; the next batch starts in the
   * columns {@link columns} makes when next asked. The returned columns stay untouched until
   * they are given back to {@link release}.
   */
  cut(rows: number): { readonly batch: RecordBatch; readonly columns: Column[] } {
    const cols = this.columns;
    const children = cols.map(finishColumn);
    if (this.metadata !== undefined) children.push(...this.constantColumns(this.metadata, rows));
    const batch = new RecordBatch(
      this.schema,
      makeData({ type: this.struct, length: rows, nullCount: 0, children }),
    );
    this.current = null;
    this.last = cols;
    return { batch, columns: cols };
  }

  /** Lends the columns of a batch that is no longer used to a later batch. */
  release(columns: Column[]): void {
    this.spare = columns;
  }

  /**
   * Frees every column buffer now (see release-buffer.ts), once no batch is in use any more (all
   * were released): the decoder is done. The columns must not be used afterwards.
   */
  dispose(): void {
    for (const cols of [this.current, this.spare]) cols?.forEach(disposeColumn);
    this.current = this.spare = this.last = null;
  }

  /** The metadata columns for `rows` rows: built once per batch length (they never change). */
  private constantColumns(metadata: MetadataColumns, rows: number): Data[] {
    if (this.constants?.rows !== rows) this.constants = { rows, data: metadataColumnData(metadata, rows) };
    return this.constants.data;
  }

  private newColumns(prev: Column[] | null): Column[] {
    return this.specs.map((s, i) =>
      newColumn(s, this.types[i]!, this.typeOptions, this.initialCap, prev?.[i] ?? null, this.batchRows),
    );
  }
}
