/**
 * A lossless reader and writer of the Thrift compact protocol, for rewriting Parquet footers and
 * page indexes: values are kept as a tree of typed fields, so whatever a writer put there (fields
 * this code does not know included) is written back unchanged. The footer reader (footer.ts)
 * uses it too.
 */
import { ParquetFormatError } from './format-error.js';

/** Thrift compact protocol type ids (booleans: 1 = true, 2 = false in a field header). */
export const TType = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

/** One Thrift value: integers as bigint (i64 offsets must stay exact), bytes as they were. */
export type ThriftValue =
  | { readonly type: typeof TType.TRUE | typeof TType.FALSE; value: boolean }
  | { readonly type: typeof TType.BYTE; value: number }
  | { readonly type: typeof TType.I16 | typeof TType.I32 | typeof TType.I64; value: bigint }
  | { readonly type: typeof TType.DOUBLE | typeof TType.UUID | typeof TType.BINARY; value: Uint8Array }
  | { readonly type: typeof TType.LIST | typeof TType.SET; value: ThriftList }
  | { readonly type: typeof TType.MAP; value: ThriftMap }
  | { readonly type: typeof TType.STRUCT; value: ThriftStruct };

/** A struct: its fields by id, in the order they were read. */
export type ThriftStruct = Map<number, ThriftValue>;

/** A list or set: the element type and the elements. */
interface ThriftList {
  readonly elementType: number;
  readonly items: ThriftValue[];
}

/** A map: key and value types and the pairs. */
interface ThriftMap {
  readonly keyType: number;
  readonly valueType: number;
  readonly entries: [ThriftValue, ThriftValue][];
}

/** Reads one struct from `bytes`; returns it and how many bytes it took. */
export function readThriftStruct(bytes: Uint8Array): { struct: ThriftStruct; length: number } {
  const r = new Reader(bytes);
  const struct = r.struct();
  return { struct, length: r.pos };
}

/** Writes one struct in the compact protocol. */
export function writeThriftStruct(struct: ThriftStruct): Uint8Array {
  const w = new Writer();
  w.struct(struct);
  return w.finish();
}

/** The struct in field `id` of `s` (throws a format error when it is absent or of another type). */
export function structField(s: ThriftStruct, id: number): ThriftStruct {
  const v = s.get(id);
  if (v?.type !== TType.STRUCT) throw new ParquetFormatError(`Thrift field ${id} is not a struct`);
  return v.value;
}

/** `v` as a struct (throws a format error when it is another type). */
export function asStruct(v: ThriftValue): ThriftStruct {
  if (v.type !== TType.STRUCT) throw new ParquetFormatError('expected a Thrift struct in a Parquet file');
  return v.value;
}

/** The UTF-8 text in binary field `id` of `s`, or undefined when it is absent. */
export function textField(s: ThriftStruct, id: number): string | undefined {
  const v = s.get(id);
  if (v === undefined) return undefined;
  if (v.type !== TType.BINARY) throw new ParquetFormatError(`Thrift field ${id} is not binary`);
  return new TextDecoder().decode(v.value);
}

/** The list in field `id` of `s`, or an empty list when it is absent. */
export function listField(s: ThriftStruct, id: number): ThriftValue[] {
  const v = s.get(id);
  if (v === undefined) return [];
  if (v.type !== TType.LIST) throw new ParquetFormatError(`Thrift field ${id} is not a list`);
  return v.value.items;
}

/** The integer in field `id` of `s`, or undefined when it is absent. */
export function intField(s: ThriftStruct, id: number): bigint | undefined {
  const v = s.get(id);
  if (v === undefined) return undefined;
  if (v.type !== TType.I16 && v.type !== TType.I32 && v.type !== TType.I64) {
    throw new ParquetFormatError(`Thrift field ${id} is not an integer`);
  }
  return v.value;
}

/** Sets integer field `id` of `s`, keeping its width (i16/i32/i64) when it exists. */
export function setIntField(s: ThriftStruct, id: number, value: bigint, type: 4 | 5 | 6 = TType.I64): void {
  const old = s.get(id);
  const width =
    old && (old.type === TType.I16 || old.type === TType.I32 || old.type === TType.I64) ? old.type : type;
  s.set(id, { type: width, value });
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  private byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new ParquetFormatError('truncated Thrift data in a Parquet file');
    return b;
  }

  private varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new ParquetFormatError('bad varint in Thrift data');
    }
  }

  private zigzag(): bigint {
    const z = this.varint();
    return (z >> 1n) ^ -(z & 1n);
  }

  private bytes(n: number): Uint8Array {
    if (n > this.buf.length - this.pos)
      throw new ParquetFormatError('truncated Thrift data in a Parquet file');
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  struct(): ThriftStruct {
    const out: ThriftStruct = new Map();
    let last = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === 0) return out;
      const delta = header >> 4;
      const id = delta === 0 ? Number(this.zigzag()) : last + delta;
      last = id;
      out.set(
        id,
        type === TType.TRUE || type === TType.FALSE ? { type, value: type === TType.TRUE } : this.value(type),
      );
    }
  }

  private value(type: number): ThriftValue {
    switch (type) {
      case TType.BYTE:
        return { type, value: this.byte() };
      case TType.I16:
      case TType.I32:
      case TType.I64:
        return { type, value: this.zigzag() };
      case TType.DOUBLE:
        return { type, value: this.bytes(8) };
      case TType.UUID:
        return { type, value: this.bytes(16) };
      case TType.BINARY:
        return { type, value: this.bytes(Number(this.varint())) };
      case TType.LIST:
      case TType.SET: {
        const header = this.byte();
        let size = header >> 4;
        const elementType = header & 0x0f;
        if (size === 15) size = Number(this.varint());
        const items: ThriftValue[] = [];
        for (let i = 0; i < size; i++) items.push(this.element(elementType));
        return { type, value: { elementType, items } };
      }
      case TType.MAP: {
        const size = Number(this.varint());
        const kinds = size === 0 ? 0 : this.byte();
        const entries: [ThriftValue, ThriftValue][] = [];
        for (let i = 0; i < size; i++) entries.push([this.element(kinds >> 4), this.element(kinds & 0x0f)]);
        return { type, value: { keyType: kinds >> 4, valueType: kinds & 0x0f, entries } };
      }
      case TType.STRUCT:
        return { type, value: this.struct() };
      default:
        throw new ParquetFormatError(`unknown Thrift type ${type} in a Parquet file`);
    }
  }

  /**
   * Booleans inside containers take one byte, unlike boolean fields; writers differ on the byte
   * for false (0 or 2), so it is kept as it was, as a byte.
   */
  private element(type: number): ThriftValue {
    if (type === TType.TRUE || type === TType.FALSE) return { type: TType.BYTE, value: this.byte() };
    return this.value(type);
  }
}

class Writer {
  private buf = new Uint8Array(4096);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b & 0xff;
  }

  private varint(v: bigint): void {
    let n = v;
    for (;;) {
      if (n < 0x80n) {
        this.byte(Number(n));
        return;
      }
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
  }

  private zigzag(v: bigint): void {
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }

  private raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  struct(s: ThriftStruct): void {
    let last = 0;
    for (const [id, v] of s) {
      const type =
        v.type === TType.TRUE || v.type === TType.FALSE ? (v.value ? TType.TRUE : TType.FALSE) : v.type;
      const delta = id - last;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
      else {
        this.byte(type);
        this.zigzag(BigInt(id));
      }
      last = id;
      if (type !== TType.TRUE && type !== TType.FALSE) this.value(v);
    }
    this.byte(0);
  }

  private value(v: ThriftValue): void {
    switch (v.type) {
      case TType.TRUE:
      case TType.FALSE:
        this.byte(v.value ? 1 : 2);
        return;
      case TType.BYTE:
        this.byte(v.value);
        return;
      case TType.I16:
      case TType.I32:
      case TType.I64:
        this.zigzag(v.value);
        return;
      case TType.DOUBLE:
      case TType.UUID:
        this.raw(v.value);
        return;
      case TType.BINARY:
        this.varint(BigInt(v.value.length));
        this.raw(v.value);
        return;
      case TType.LIST:
      case TType.SET: {
        const { elementType, items } = v.value;
        if (items.length < 15) this.byte((items.length << 4) | elementType);
        else {
          this.byte(0xf0 | elementType);
          this.varint(BigInt(items.length));
        }
        for (const item of items) this.element(item);
        return;
      }
      case TType.MAP: {
        const { keyType, valueType, entries } = v.value;
        this.varint(BigInt(entries.length));
        if (entries.length === 0) return;
        this.byte((keyType << 4) | valueType);
        for (const [k, val] of entries) {
          this.element(k);
          this.element(val);
        }
        return;
      }
      case TType.STRUCT:
        this.struct(v.value);
        return;
    }
  }

  private element(v: ThriftValue): void {
    if (v.type === TType.TRUE || v.type === TType.FALSE) this.byte(v.value ? 1 : 2);
    else this.value(v);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
