/**
 * Growable Arrow column builders fed with PostgreSQL binary field bytes. Each builder owns its
 * buffers until `finish()` hands them to Arrow; a new builder is made for every batch, so
 * buffers are never shared between batches.
 */
import { makeData, type Data, type DataType } from 'apache-arrow';

/** Fixed-width typed array constructors the builders use. */
type FixedArray = Int16Array | Int32Array | Float32Array | Float64Array | Uint32Array | Uint8Array;

/** Validity bitmap (LSB first, 1 = valid), grown on demand. */
export class Validity {
  private bits = new Uint8Array(64);
  nullCount = 0;

  /** Marks slot `i` as valid or null. */
  set(i: number, valid: boolean): void {
    const byte = i >> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      next.set(this.bits);
      this.bits = next;
    }
    if (valid) this.bits[byte]! |= 1 << (i & 7);
    else this.nullCount++;
  }

  /** Whether slot `i` was marked null. */
  isNull(i: number): boolean {
    return this.nullCount > 0 && ((this.bits[i >> 3] ?? 0) & (1 << (i & 7))) === 0;
  }

  /** The bitmap for `length` slots, or undefined when nothing is null. */
  finish(length: number): Uint8Array | undefined {
    if (this.nullCount === 0) return undefined;
    return this.bits.slice(0, (length + 7) >> 3);
  }
}

/** Grows a typed array to hold at least `need` elements. */
export function grow<T extends FixedArray>(a: T, need: number): T {
  if (need <= a.length) return a;
  const ctor = a.constructor as new (n: number) => T;
  const next = new ctor(Math.max(need, a.length * 2, 16));
  (next as Uint8Array).set(a);
  return next;
}

/** A column of fixed-width values: `width` elements of the typed array per slot. */
export class FixedBuilder<T extends FixedArray> {
  values: T;
  readonly validity = new Validity();
  length = 0;

  constructor(
    readonly type: DataType,
    make: (n: number) => T,
    readonly width: number,
    capacity: number,
  ) {
    this.values = make(Math.max(16, capacity * width));
  }

  /** Reserves one slot and returns its first element index (the caller writes the values). */
  slot(): number {
    const i = this.length++;
    this.values = grow(this.values, this.length * this.width);
    this.validity.set(i, true);
    return i * this.width;
  }

  /** Appends a NULL (values stay zero). */
  appendNull(): void {
    const i = this.length++;
    this.values = grow(this.values, this.length * this.width);
    this.validity.set(i, false);
  }

  /** Hands the buffers to Arrow; `view` reinterprets them (e.g. 32-bit word pairs as BigInt64). */
  finish(view: (values: T) => ArrayBufferView = (v) => v): Data {
    const data = view(this.values.subarray(0, this.length * this.width) as T);
    return makeData({
      type: this.type,
      length: this.length,
      nullCount: this.validity.nullCount,
      nullBitmap: this.validity.finish(this.length),
      data,
    } as never);
  }
}

/** A column of booleans (bit-packed values). */
export class BoolBuilder {
  private values = new Uint8Array(64);
  readonly validity = new Validity();
  length = 0;

  constructor(readonly type: DataType) {}

  append(value: boolean): void {
    const i = this.length++;
    this.values = grow(this.values, (this.length + 7) >> 3);
    if (value) this.values[i >> 3]! |= 1 << (i & 7);
    this.validity.set(i, true);
  }

  appendNull(): void {
    const i = this.length++;
    this.values = grow(this.values, (this.length + 7) >> 3);
    this.validity.set(i, false);
  }

  finish(): Data {
    return makeData({
      type: this.type,
      length: this.length,
      nullCount: this.validity.nullCount,
      nullBitmap: this.validity.finish(this.length),
      data: this.values.slice(0, (this.length + 7) >> 3),
    } as never);
  }
}

/** A column of variable-length bytes (Utf8 or Binary): offsets + data. */
export class VarBuilder {
  offsets = new Int32Array(64);
  data = new Uint8Array(1024);
  readonly validity = new Validity();
  length = 0;
  bytes = 0;

  constructor(readonly type: DataType) {}

  /** Reserves `n` bytes for the next value and returns where to write them in `data`. */
  reserve(n: number): number {
    const i = this.length++;
    this.offsets = grow(this.offsets, this.length + 1);
    const start = this.bytes;
    this.bytes += n;
    if (this.bytes > 0x7fffffff) throw new RangeError('a batch column exceeds 2 GiB: lower batch.bytes');
    this.data = grow(this.data, this.bytes);
    this.offsets[i + 1] = this.bytes;
    this.validity.set(i, true);
    return start;
  }

  /** Appends bytes copied from `src[start, end)`. */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    const at = this.reserve(end - start);
    this.data.set(src.subarray(start, end), at);
  }

  /** Appends a JS string as UTF-8. */
  appendString(s: string): void {
    const encoded = new TextEncoder().encode(s);
    this.appendBytes(encoded, 0, encoded.length);
  }

  appendNull(): void {
    const i = this.length++;
    this.offsets = grow(this.offsets, this.length + 1);
    this.offsets[i + 1] = this.bytes;
    this.validity.set(i, false);
  }

  finish(): Data {
    return makeData({
      type: this.type,
      length: this.length,
      nullCount: this.validity.nullCount,
      nullBitmap: this.validity.finish(this.length),
      valueOffsets: this.offsets.slice(0, this.length + 1),
      data: this.data.slice(0, this.bytes),
    } as never);
  }
}
