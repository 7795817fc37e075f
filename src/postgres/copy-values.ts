/**
 * Per-type binary COPY value codecs: one field's bytes (as PostgreSQL's *_send functions write
 * them, big-endian) → the column's Arrow buffers. Integers, floats, bool, date, time and
 * timestamps (shifted from the 2000 epoch to 1970, in 32-bit words: no BigInt), text/json/bytea
 * as sent, jsonb without its version byte, uuid as canonical text (or its 16 bytes), arrays as
 * List entries;
 * numerics are in copy-numeric.ts.
 *
 * {@link appendValue} is the hot path: one switch on the column's small-integer kind per field,
 * no closures, no per-value allocation.
 */
import * as buffers from '../arrow/column-buffers.js';
import type { Column } from '../arrow/column-buffers.js';
import { CopyFormatError, UNSUPPORTED_VALUE_OPTIONS, ValueProblem } from './copy-errors.js';
import * as numeric from './copy-numeric.js';

// Module-local bindings of the storage kinds, limits and functions the hot switch uses: V8 folds
// a module's own constants into the compiled compares and calls, but loads an imported binding
// at every use (measured: ~7% of the decode time). Each is still defined once, where it belongs.
const {
  INF_ERROR,
  INF_NULL,
  INT32_MAX,
  K_BOOL,
  K_BYTES,
  K_DATE,
  K_DECIMAL,
  K_FLOAT4,
  K_FLOAT8,
  K_INT2,
  K_INT4,
  K_INT8,
  K_JSONB,
  K_LIST,
  K_NUMERIC_TEXT,
  K_TIME,
  K_TS_MS,
  K_TS_US,
  K_UUID,
  K_UUID_BYTES,
  appendNull,
  growData,
  growValues,
  setNull,
} = buffers;
const { appendDecimal, appendNumericText, TWO_32 } = numeric;

/** Days from 1970-01-01 to 2000-01-01. */
export const DATE_EPOCH_DAYS = 10957;
/** µs from 1970-01-01 to 2000-01-01 (946684800000000) as 32-bit words. */
const TS_EPOCH_US_HI = 220417;
const TS_EPOCH_US_LO = 946684800000000 - TS_EPOCH_US_HI * TWO_32;
/** ms from 1970-01-01 to 2000-01-01 (946684800000) as 32-bit words. */
const TS_EPOCH_MS_HI = 220;
const TS_EPOCH_MS_LO = 946684800000 - TS_EPOCH_MS_HI * TWO_32;
/** µs from 1970-01-01 to 2000-01-01, for values read as BigInt (cursors, messages). */
export const TS_EPOCH_US = 946_684_800_000_000n;
/** The smallest int32: with {@link INT32_MAX}, a date's -infinity / infinity. */
export const INT32_MIN = -0x80000000;

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

/** Lower-case hex digits of a byte, as ASCII codes. */
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEX_HI[i] = '0123456789abcdef'.charCodeAt(i >> 4);
  HEX_LO[i] = '0123456789abcdef'.charCodeAt(i & 15);
}

/** Values shorter than this are copied byte by byte: cheaper than a subarray and `set`. */
const SMALL_COPY = 64;

/**
 * Appends one non-NULL field of `len` bytes at `pos`. Checks every precondition before writing,
 * so that a thrown problem leaves the column as it was (lists: see {@link truncate}).
 */
export function appendValue(col: Column, buf: Uint8Array, view: DataView, pos: number, len: number): void {
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
    case K_UUID_BYTES: {
      // arrow.uuid: the 16 bytes as sent (uuid_send is the RFC 4122 byte order Parquet's UUID uses).
      if (len !== 16) badLength(col, len, 16);
      const d = col.data;
      const at = 16 * n;
      for (let i = 0; i < 16; i++) d[at + i] = buf[pos + i]!;
      break;
    }
    case K_DECIMAL:
      appendDecimal(col, view, pos, len);
      break;
    case K_NUMERIC_TEXT:
      appendNumericText(col, view, pos, len);
      break;
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
