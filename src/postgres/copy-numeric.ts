/**
 * PostgreSQL numeric's binary form (ndigits, weight, sign, dscale, then base-10000 digits) →
 * Decimal128 words, or → the text PostgreSQL prints. Straight from the wire bytes into the
 * column's buffers: no BigInt, no intermediate string.
 */
import { growData, type Column } from '../arrow/column-buffers.js';
import { CopyFormatError, UNSUPPORTED_VALUE_OPTIONS, ValueProblem } from './copy-errors.js';

/** 2³², for splitting integers held in doubles into 32-bit words. */
export const TWO_32 = 4294967296;

const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
const POW10 = [1, 10, 100, 1000, 10000];

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
export function appendDecimal(col: Column, view: DataView, pos: number, len: number): void {
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

/** numeric's binary form (at `pos` of `view`) as the text PostgreSQL prints (for messages). */
function numericString(view: DataView, pos: number): string {
  const out = new Uint8Array(numericTextBound(view, pos));
  const end = writeNumericText(view, pos, out, 0);
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(out[i]!);
  return s;
}

/** numeric → its text (numeric_out's form) appended to a variable-width column. */
export function appendNumericText(col: Column, view: DataView, pos: number, len: number): void {
  checkNumericLength(col, view, pos, len);
  const max = numericTextBound(view, pos);
  if (col.dataLen + max > col.data.length) growData(col, max);
  col.dataLen = writeNumericText(view, pos, col.data, col.dataLen);
  col.offsets[col.n + 1] = col.dataLen;
}
