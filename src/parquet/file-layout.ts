/**
 * The byte layout of a whole Parquet file held in memory, shared by the two rewriters that move
 * bytes without decoding values (concat.ts, page-compression.ts): the magic, the footer
 * (FileMetaData), the page index blobs it points at, and shifting absolute offsets.
 *
 * parquet.thrift field ids used here: FileMetaData 2 schema, 4 row_groups; ColumnChunk 4/5 offset
 * index offset/length, 6/7 column index offset/length.
 */
import { ParquetFormatError } from './format-error.js';
import {
  intField,
  readThriftStruct,
  setIntField,
  writeThriftStruct,
  type ThriftStruct,
} from './thrift-compact.js';

/** "PAR1": the first and the last four bytes of every Parquet file. */
export const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]);

/** The footer's length, from the four bytes before the closing magic. */
export function footerLength(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 8, true);
}

/**
 * The file's FileMetaData, checked to be a Parquet footer with a schema and row groups.
 *
 * @param label names the file in errors (e.g. "Parquet file 3 of a concatenation").
 * @throws ParquetFormatError when `bytes` is not a whole Parquet file.
 */
export function readFileMetaData(bytes: Uint8Array, label: string): ThriftStruct {
  const size = bytes.length;
  const magicAt = (at: number) => MAGIC.every((b, i) => bytes[at + i] === b);
  if (size < 12 || !magicAt(0) || !magicAt(size - 4)) {
    throw new ParquetFormatError(`${label} is not Parquet (${size} bytes)`);
  }
  const len = footerLength(bytes);
  if (len + 12 > size) throw new ParquetFormatError(`${label}: footer length ${len} exceeds the file`);
  const meta = readThriftStruct(bytes.subarray(size - 8 - len, size - 8)).struct;
  if (!meta.has(2) || !meta.has(4))
    throw new ParquetFormatError(`${label}: footer without schema or row groups`);
  return meta;
}

/** The footer `meta` serialized, then its length and the closing magic: the end of a file. */
export function fileTail(meta: ThriftStruct): Uint8Array[] {
  const footer = writeThriftStruct(meta);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(MAGIC, 4);
  return [footer, tail];
}

/**
 * The page index blob (column index: fields 6/7, offset index: 4/5) a column chunk points at, or
 * undefined when it has none. `bytes` holds the file from absolute offset `base` on (0: the whole
 * file; a file's tail read on its own: where that tail starts).
 */
export function indexBlob(
  bytes: Uint8Array,
  chunk: ThriftStruct,
  offsetId: number,
  lengthId: number,
  base = 0,
): Uint8Array | undefined {
  const at = intField(chunk, offsetId);
  const len = intField(chunk, lengthId);
  if (at === undefined || len === undefined) return undefined;
  const start = Number(at) - base;
  const end = start + Number(len);
  if (Number(at) < 4 || start < 0 || end > bytes.length) {
    throw new ParquetFormatError('a page index lies outside its file');
  }
  return bytes.subarray(start, end);
}

/** Moves integer field `id` of `s` by `delta`; 0 stands for "not set" in some writers: left so. */
export function shift(s: ThriftStruct, id: number, delta: bigint): void {
  const v = intField(s, id);
  if (v !== undefined && v !== 0n) setIntField(s, id, v + delta);
}
