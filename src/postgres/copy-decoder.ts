/**
 * Streaming decoder of PostgreSQL's binary COPY format straight into Arrow columns.
 *
 * Chunks arrive at arbitrary boundaries (fields and rows straddle them). The decoder keeps only
 * the unfinished tail of a chunk as a carry, checks that a whole row is present by walking its
 * field lengths, and only then decodes it, so a row is never half-appended. Batches are cut by
 * rows and by bytes, whichever comes first.
 */
import { makeData, RecordBatch, Schema, Struct, type Data } from 'apache-arrow';
import { BoolBuilder, FixedBuilder, Validity, VarBuilder } from '../arrow/column-builders.js';
import type { ColumnSpec, TypeOptions } from '../arrow/column-spec.js';
import { arrowField, arrowTypeOf } from '../arrow/type-map.js';
import { ErrorType, PgParquetError } from '../errors.js';

/** One decoded batch and what the exporter records about it. */
export interface DecodedBatch {
  readonly batch: RecordBatch;
  readonly rows: number;
  /** Sum of the binary field sizes of the batch (an estimate of its in-memory size). */
  readonly bytes: number;
  /** The cursor column's value in the first and last row, as a decimal string (null if NULL). */
  readonly cursorFirst: string | null;
  readonly cursorLast: string | null;
}

/** How the decoder cuts and labels batches. */
export interface DecoderOptions {
  readonly batchRows: number;
  readonly batchBytes: number;
  /** Index of the cursor column in the specs, or -1. Integer cursors only. */
  readonly cursorColumn: number;
  readonly typeOptions: TypeOptions;
  /** `schema.table`, for error messages. */
  readonly table: string;
}

/**
 * A value Parquet cannot hold (an infinite date or timestamp, NaN or an out-of-range numeric
 * in a decimal column). Names the table, column, value, cursor and what would accept it.
 */
export class UnsupportedValueError extends PgParquetError {
  readonly code = 'UNSUPPORTED_VALUE';
  constructor(
    readonly table: string,
    readonly column: string,
    readonly pgType: string,
    readonly value: string,
    readonly cursor: string | null,
    readonly accepted: string,
  ) {
    super(
      ErrorType.UnsupportedValue,
      `${table}.${column} (${pgType}) holds ${value} at cursor ${cursor ?? 'NULL'}, which Parquet cannot store; ${accepted}`,
      false,
      { table, column, pgType, value, cursor, accepted },
    );
  }
}

/** The COPY stream is not binary COPY data, or ended early. */
export class CopyFormatError extends Error {
  readonly code = 'COPY_FORMAT';
}

/** Raised by column decoders; the row loop adds table, column and cursor. */
class ValueProblem extends Error {
  constructor(
    readonly value: string,
    readonly accepted: string,
  ) {
    super(value);
  }
}

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const EMPTY = new Uint8Array(0);
/** Days from 1970-01-01 to 2000-01-01. */
const DATE_EPOCH_DAYS = 10957;
/** µs from 1970-01-01 to 2000-01-01, as 32-bit words. */
const TS_EPOCH_US = 946_684_800_000_000n;
const TS_EPOCH_LO = Number(TS_EPOCH_US & 0xffffffffn);
const TS_EPOCH_HI = Number(TS_EPOCH_US >> 32n);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

const INFINITY_HINT = 'cast the column in a view, or filter those rows out with source.where';

/** Decodes one field into a column; `len` is the field's byte length (never -1 here). */
interface ColumnDecoder {
  append(buf: Uint8Array, view: DataView, pos: number, len: number): void;
  appendNull(): void;
  finish(): Data;
  /** The value at row `i` as a string, for integer cursor columns. */
  cursorAt?(i: number): string | null;
}

/** Streaming binary COPY → Arrow RecordBatch decoder. */
export class CopyBinaryDecoder {
  readonly schema: Schema;
  private carry: Uint8Array = EMPTY;
  private headerDone = false;
  private ended = false;
  private columns: ColumnDecoder[];
  private rows = 0;
  private bytes = 0;
  private total = 0;
  private lastCursor: string | null = null;

  constructor(
    private readonly specs: readonly ColumnSpec[],
    private readonly opts: DecoderOptions,
  ) {
    this.schema = new Schema(specs.map((s) => arrowField(s, opts.typeOptions)));
    this.columns = this.newColumns();
  }

  /** Rows decoded so far (all batches). */
  get rowsDecoded(): number {
    return this.total;
  }

  /** Feeds a chunk; returns the batches it completed. */
  push(chunk: Uint8Array): DecodedBatch[] {
    if (chunk.length === 0) return [];
    let buf: Uint8Array;
    if (this.carry.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry, 0);
      buf.set(chunk, this.carry.length);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const n = buf.length;
    let p = 0;
    const out: DecodedBatch[] = [];
    if (!this.headerDone) {
      if (n < 19) {
        this.carry = buf.slice();
        return out;
      }
      for (let i = 0; i < SIGNATURE.length; i++) {
        if (buf[i] !== SIGNATURE[i]) throw new CopyFormatError('not a binary COPY stream (bad signature)');
      }
      const ext = view.getInt32(15);
      if (n < 19 + ext) {
        this.carry = buf.slice();
        return out;
      }
      p = 19 + ext;
      this.headerDone = true;
    }
    const ncols = this.columns.length;
    let columns = this.columns;
    while (p + 2 <= n) {
      if (this.ended) throw new CopyFormatError('data after the end of the COPY stream');
      const fields = view.getInt16(p);
      if (fields === -1) {
        this.ended = true;
        p += 2;
        continue;
      }
      if (fields !== ncols) throw new CopyFormatError(`row has ${fields} fields, expected ${ncols}`);
      // Is the whole row here? Walk the field lengths before touching any column.
      let q = p + 2;
      let complete = true;
      for (let c = 0; c < ncols; c++) {
        if (q + 4 > n) {
          complete = false;
          break;
        }
        const len = view.getInt32(q);
        q += 4;
        if (len > 0) {
          q += len;
          if (q > n) {
            complete = false;
            break;
          }
        }
      }
      if (!complete) break;
      q = p + 2;
      let c = 0;
      try {
        for (; c < ncols; c++) {
          const len = view.getInt32(q);
          q += 4;
          if (len < 0) columns[c]!.appendNull();
          else {
            columns[c]!.append(buf, view, q, len);
            q += len;
          }
        }
      } catch (err) {
        if (err instanceof ValueProblem) throw this.unsupported(err, c, view, p);
        throw err;
      }
      this.bytes += q - p;
      this.rows++;
      this.total++;
      p = q;
      if (this.rows >= this.opts.batchRows || this.bytes >= this.opts.batchBytes) {
        out.push(this.cut());
        columns = this.columns; // cut() started fresh builders
      }
    }
    // Keep only the unfinished tail (copied, so the chunk's memory can be released).
    this.carry = p < n ? buf.slice(p) : EMPTY;
    return out;
  }

  /** Ends the stream: the last partial batch, or null. Throws if the stream was cut short. */
  finish(): DecodedBatch | null {
    if (!this.headerDone) throw new CopyFormatError('COPY stream ended before its header');
    if (!this.ended) throw new CopyFormatError('COPY stream ended without its trailer (truncated)');
    if (this.carry.length > 0) throw new CopyFormatError(`${this.carry.length} bytes after the COPY trailer`);
    return this.rows > 0 ? this.cut() : null;
  }

  private newColumns(): ColumnDecoder[] {
    const cap = Math.min(this.opts.batchRows, 65536);
    return this.specs.map((s) => makeColumn(s, this.opts.typeOptions, cap));
  }

  private cut(): DecodedBatch {
    const cols = this.columns;
    const rows = this.rows;
    const bytes = this.bytes;
    const children = cols.map((c) => c.finish());
    const batch = new RecordBatch(
      this.schema,
      makeData({ type: new Struct(this.schema.fields), length: rows, nullCount: 0, children }),
    );
    const cursor = this.opts.cursorColumn >= 0 ? cols[this.opts.cursorColumn] : undefined;
    const cursorFirst = cursor?.cursorAt?.(0) ?? null;
    const cursorLast = cursor?.cursorAt?.(rows - 1) ?? null;
    this.lastCursor = cursorLast;
    this.columns = this.newColumns();
    this.rows = 0;
    this.bytes = 0;
    return { batch, rows, bytes, cursorFirst, cursorLast };
  }

  /** Builds the typed error for a value in column `c` of the row starting at `rowStart`. */
  private unsupported(
    problem: ValueProblem,
    c: number,
    view: DataView,
    rowStart: number,
  ): UnsupportedValueError {
    const spec = this.specs[c]!;
    let cursor: string | null = this.lastCursor;
    const ci = this.opts.cursorColumn;
    if (ci >= 0) {
      let q = rowStart + 2;
      for (let i = 0; i < ci; i++) {
        const len = view.getInt32(q);
        q += 4 + Math.max(0, len);
      }
      const len = view.getInt32(q);
      cursor = len < 0 ? null : readIntText(view, q + 4, len);
    }
    return new UnsupportedValueError(
      this.opts.table,
      spec.name,
      spec.pgType,
      problem.value,
      cursor,
      problem.accepted,
    );
  }
}

/** An integer field (2, 4 or 8 bytes) as decimal text. */
function readIntText(view: DataView, pos: number, len: number): string {
  if (len === 2) return String(view.getInt16(pos));
  if (len === 4) return String(view.getInt32(pos));
  if (len === 8) return view.getBigInt64(pos).toString();
  return '?';
}

function makeColumn(spec: ColumnSpec, opts: TypeOptions, cap: number): ColumnDecoder {
  const type = arrowTypeOf(spec, opts);
  switch (spec.kind) {
    case 'bool': {
      const b = new BoolBuilder(type);
      return {
        append: (buf, _v, pos) => b.append(buf[pos] !== 0),
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
      };
    }
    case 'int2': {
      const b = new FixedBuilder(type, (n) => new Int16Array(n), 1, cap);
      return {
        append: (_b, view, pos) => {
          b.values[b.slot()] = view.getInt16(pos);
        },
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
        cursorAt: (i) => (b.validity.isNull(i) ? null : String(b.values[i])),
      };
    }
    case 'int4':
    case 'date': {
      const isDate = spec.kind === 'date';
      const b = new FixedBuilder(type, (n) => new Int32Array(n), 1, cap);
      return {
        append: (_b, view, pos) => {
          const v = view.getInt32(pos);
          if (isDate && (v === 0x7fffffff || v === -0x80000000)) {
            throw new ValueProblem(v > 0 ? 'infinity' : '-infinity', INFINITY_HINT);
          }
          b.values[b.slot()] = isDate ? v + DATE_EPOCH_DAYS : v;
        },
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
        cursorAt: (i) => (b.validity.isNull(i) ? null : String(b.values[i])),
      };
    }
    case 'int8':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return int64Column(spec, type, opts, cap);
    case 'float4': {
      const b = new FixedBuilder(type, (n) => new Float32Array(n), 1, cap);
      return {
        append: (_b, view, pos) => {
          b.values[b.slot()] = view.getFloat32(pos);
        },
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
      };
    }
    case 'float8': {
      const b = new FixedBuilder(type, (n) => new Float64Array(n), 1, cap);
      return {
        append: (_b, view, pos) => {
          b.values[b.slot()] = view.getFloat64(pos);
        },
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
      };
    }
    case 'numeric-decimal':
      return decimalColumn(spec, type, cap);
    case 'numeric-string': {
      const b = new VarBuilder(type);
      return {
        append: (_b, view, pos) => b.appendString(numericText(view, pos)),
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
      };
    }
    case 'text':
    case 'json':
    case 'bytea':
    case 'jsonb': {
      // jsonb's binary form is a version byte (1) and then the JSON text.
      const skip = spec.kind === 'jsonb' ? 1 : 0;
      const b = new VarBuilder(type);
      return {
        append: (buf, _v, pos, len) => b.appendBytes(buf, pos + skip, pos + len),
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
      };
    }
    case 'uuid': {
      const b = new VarBuilder(type);
      return {
        append: (buf, _v, pos) => {
          const at = b.reserve(36);
          let o = at;
          for (let i = 0; i < 16; i++) {
            const h = HEX[buf[pos + i]!]!;
            b.data[o++] = h.charCodeAt(0);
            b.data[o++] = h.charCodeAt(1);
            if (i === 3 || i === 5 || i === 7 || i === 9) b.data[o++] = 0x2d;
          }
        },
        appendNull: () => b.appendNull(),
        finish: () => b.finish(),
      };
    }
    case 'array':
      return listColumn(spec, type, opts, cap);
  }
}

/** int8, time, timestamp and timestamptz: 64-bit values written as (lo, hi) 32-bit words. */
function int64Column(spec: ColumnSpec, type: ReturnType<typeof arrowTypeOf>, opts: TypeOptions, cap: number) {
  const b = new FixedBuilder(type, (n) => new Int32Array(n), 2, cap);
  const isTimestamp = spec.kind === 'timestamp' || spec.kind === 'timestamptz';
  const toMs = isTimestamp && opts.timestampUnit === 'ms';
  const column: ColumnDecoder = {
    append: (_b, view, pos) => {
      const hi = view.getInt32(pos);
      const lo = view.getUint32(pos + 4);
      const i = b.slot();
      if (!isTimestamp) {
        b.values[i] = lo | 0;
        b.values[i + 1] = hi;
        return;
      }
      if ((hi === 0x7fffffff && lo === 0xffffffff) || (hi === -0x80000000 && lo === 0)) {
        throw new ValueProblem(hi > 0 ? 'infinity' : '-infinity', INFINITY_HINT);
      }
      if (toMs) {
        let us = (BigInt(hi) << 32n) + BigInt(lo) + TS_EPOCH_US;
        us = us >= 0n ? us / 1000n : -((-us + 999n) / 1000n);
        b.values[i] = Number(us & 0xffffffffn) | 0;
        b.values[i + 1] = Number(BigInt.asIntN(32, us >> 32n));
        return;
      }
      // 64-bit add of the 2000 → 1970 epoch shift, in 32-bit words.
      const sumLo = lo + TS_EPOCH_LO;
      b.values[i] = sumLo | 0;
      b.values[i + 1] = (hi + TS_EPOCH_HI + (sumLo > 0xffffffff ? 1 : 0)) | 0;
    },
    appendNull: () => b.appendNull(),
    // The (lo, hi) word pairs are little-endian int64s: hand Arrow a BigInt64Array view of them.
    finish: () => b.finish((v) => new BigInt64Array(v.buffer, v.byteOffset, v.length / 2)),
  };
  // Timestamp cursors in µs are their own integer form; in ms they are not, and get no cursor span.
  if (spec.kind === 'int8' || (isTimestamp && !toMs)) {
    column.cursorAt = (i) => {
      if (b.validity.isNull(i)) return null;
      return ((BigInt(b.values[2 * i + 1]!) << 32n) | BigInt(b.values[2 * i]! >>> 0)).toString();
    };
  }
  return column;
}

/** numeric(p,s) → Decimal128(p,s): the exact scaled integer, as four little-endian words. */
function decimalColumn(spec: ColumnSpec, type: ReturnType<typeof arrowTypeOf>, cap: number): ColumnDecoder {
  const b = new FixedBuilder(type, (n) => new Uint32Array(n), 4, cap);
  const scale = spec.scale ?? 0;
  const precision = spec.precision ?? 38;
  const limit = 10n ** BigInt(precision);
  const safeLimit = precision <= 15 ? 10 ** precision : Infinity;
  return {
    append: (_b, view, pos) => {
      const ndigits = view.getInt16(pos);
      const weight = view.getInt16(pos + 2);
      const sign = view.getUint16(pos + 4);
      if (sign === NUMERIC_NAN || sign === NUMERIC_PINF || sign === NUMERIC_NINF) {
        const value = sign === NUMERIC_NAN ? 'NaN' : sign === NUMERIC_PINF ? 'Infinity' : '-Infinity';
        throw new ValueProblem(
          value,
          `a ${spec.pgType} column holding ${value} cannot be a decimal: ${INFINITY_HINT}`,
        );
      }
      // The digits are base-10000 groups; the last one stands for 10^(4 * (weight - ndigits + 1)).
      const exp10 = 4 * (weight - ndigits + 1) + scale;
      const i = b.slot();
      let small = 0;
      let fits = exp10 >= -12;
      for (let d = 0; d < ndigits && fits; d++) {
        small = small * 10000 + view.getInt16(pos + 8 + 2 * d);
        if (small > Number.MAX_SAFE_INTEGER / 10000) fits = false;
      }
      if (fits) {
        const scaled = exp10 >= 0 ? small * 10 ** exp10 : small / 10 ** -exp10;
        if (Number.isSafeInteger(scaled) && Math.abs(scaled) < safeLimit) {
          writeDecimalNumber(b.values, i, sign === NUMERIC_NEG ? -scaled : scaled);
          return;
        }
      }
      let big = 0n;
      for (let d = 0; d < ndigits; d++) big = big * 10000n + BigInt(view.getInt16(pos + 8 + 2 * d));
      if (exp10 >= 0) big *= 10n ** BigInt(exp10);
      else big /= 10n ** BigInt(-exp10); // PostgreSQL rounds to the column's scale: the division is exact
      if (big >= limit) {
        throw new ValueProblem(numericText(view, pos), `it exceeds ${spec.pgType}`);
      }
      writeDecimalBig(b.values, i, sign === NUMERIC_NEG ? -big : big);
    },
    appendNull: () => b.appendNull(),
    finish: () => b.finish(),
  };
}

function writeDecimalNumber(words: Uint32Array, i: number, v: number): void {
  if (v >= 0) {
    words[i] = v % 0x100000000;
    words[i + 1] = Math.floor(v / 0x100000000);
    words[i + 2] = 0;
    words[i + 3] = 0;
    return;
  }
  writeDecimalBig(words, i, BigInt(v));
}

function writeDecimalBig(words: Uint32Array, i: number, v: bigint): void {
  const u = BigInt.asUintN(128, v);
  words[i] = Number(u & 0xffffffffn);
  words[i + 1] = Number((u >> 32n) & 0xffffffffn);
  words[i + 2] = Number((u >> 64n) & 0xffffffffn);
  words[i + 3] = Number((u >> 96n) & 0xffffffffn);
}

/** numeric's binary form → the text PostgreSQL prints (respects dscale, e.g. `1.50`). */
export function numericText(view: DataView, pos: number): string {
  const ndigits = view.getInt16(pos);
  const weight = view.getInt16(pos + 2);
  const sign = view.getUint16(pos + 4);
  const dscale = view.getInt16(pos + 6);
  if (sign === NUMERIC_NAN) return 'NaN';
  if (sign === NUMERIC_PINF) return 'Infinity';
  if (sign === NUMERIC_NINF) return '-Infinity';
  const digit = (d: number): number => (d >= 0 && d < ndigits ? view.getInt16(pos + 8 + 2 * d) : 0);
  let out = sign === NUMERIC_NEG ? '-' : '';
  if (weight < 0) out += '0';
  else {
    for (let d = 0; d <= weight; d++) {
      const g = String(digit(d));
      out += d === 0 ? g : g.padStart(4, '0');
    }
  }
  if (dscale > 0) {
    let frac = '';
    for (let d = weight + 1; frac.length < dscale; d++) frac += String(digit(d)).padStart(4, '0');
    out += `.${frac.slice(0, dscale)}`;
  }
  return out;
}

/** One-dimensional arrays → List<element>. NULL elements stay NULL; empty arrays are empty lists. */
function listColumn(
  spec: ColumnSpec,
  type: ReturnType<typeof arrowTypeOf>,
  opts: TypeOptions,
  cap: number,
): ColumnDecoder {
  if (!spec.element) throw new TypeError(`array column ${spec.name} without element spec`);
  const child = makeColumn(spec.element, opts, cap);
  let offsets = new Int32Array(Math.max(16, cap + 1));
  let length = 0;
  let childLength = 0;
  const validity = new Validity();
  const ensure = () => {
    if (length + 2 > offsets.length) {
      const next = new Int32Array(offsets.length * 2);
      next.set(offsets);
      offsets = next;
    }
  };
  return {
    append: (buf, view, pos) => {
      const ndim = view.getInt32(pos);
      ensure();
      if (ndim > 1) {
        throw new ValueProblem(
          `a ${ndim}-dimensional array`,
          'multi-dimensional arrays are not exported as lists: cast the column to text in a view',
        );
      }
      if (ndim === 1) {
        const count = view.getInt32(pos + 12);
        let q = pos + 20;
        for (let e = 0; e < count; e++) {
          const len = view.getInt32(q);
          q += 4;
          if (len < 0) child.appendNull();
          else {
            child.append(buf, view, q, len);
            q += len;
          }
        }
        childLength += count;
      }
      validity.set(length, true);
      offsets[++length] = childLength;
    },
    appendNull: () => {
      ensure();
      validity.set(length, false);
      offsets[++length] = childLength;
    },
    finish: () =>
      makeData({
        type,
        length,
        nullCount: validity.nullCount,
        nullBitmap: validity.finish(length),
        valueOffsets: offsets.slice(0, length + 1),
        child: child.finish(),
      } as never),
  };
}
