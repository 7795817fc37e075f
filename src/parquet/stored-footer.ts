/**
 * Reads a stored Parquet file's footer with ranged reads (the file itself may be hundreds of
 * MiB): used by verification to re-count rows without downloading data.
 */
import type { ObjectStore } from '../storage/object-store.js';
import { rowGroupsEnd, type ParquetTail } from './concat.js';
import { readFileMetaData } from './file-layout.js';
import { readParquetMetadata, type ParquetFileInfo } from './footer.js';
import { ParquetFormatError } from './format-error.js';

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"
/** First guess of the footer's size: one request for almost every file. */
const TAIL_GUESS = 64 * 1024;

/** The footer info of a stored file, or `undefined` when the object does not exist. */
export async function readStoredParquetInfo(
  store: ObjectStore,
  key: string,
  size: number,
): Promise<ParquetFileInfo | undefined> {
  if (size < 12) throw new ParquetFormatError(`${key}: ${size} bytes is too small for Parquet`);
  let tail = await store.getRange(key, Math.max(0, size - TAIL_GUESS), size);
  if (!tail) return undefined;
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const footerLength = view.getUint32(tail.byteLength - 8, true);
  const needed = footerLength + 8;
  if (needed + 4 > size)
    throw new ParquetFormatError(`${key}: footer length ${footerLength} exceeds the file`);
  if (needed > tail.byteLength) {
    tail = await store.getRange(key, size - needed, size);
    if (!tail) return undefined;
  }
  // readParquetMetadata wants a whole file: the leading magic plus the footer is one to it.
  const file = new Uint8Array(4 + needed);
  file.set(MAGIC, 0);
  file.set(tail.subarray(tail.byteLength - needed), 4);
  return readParquetMetadata(file);
}

/**
 * The tail of a stored file (its page indexes and footer: what concatenation needs, see
 * concat.ts) with one or two ranged reads, or `undefined` when the object does not exist.
 */
export async function readStoredParquetTail(
  store: ObjectStore,
  key: string,
  size: number,
): Promise<ParquetTail | undefined> {
  if (size < 12) throw new ParquetFormatError(`${key}: ${size} bytes is too small for Parquet`);
  let from = Math.max(0, size - TAIL_GUESS);
  let tail = await store.getRange(key, from, size);
  if (!tail) return undefined;
  const footerLength = new DataView(tail.buffer, tail.byteOffset, tail.byteLength).getUint32(
    tail.byteLength - 8,
    true,
  );
  const footerStart = size - 8 - footerLength;
  if (footerStart < 4) throw new ParquetFormatError(`${key}: footer length ${footerLength} exceeds the file`);
  if (footerStart < from) {
    tail = await store.getRange(key, footerStart, size);
    if (!tail) return undefined;
    from = footerStart;
  }
  // readFileMetaData wants a whole file: the leading magic plus the footer is one to it.
  const file = new Uint8Array(4 + 8 + footerLength);
  file.set(MAGIC, 0);
  file.set(tail.subarray(footerStart - from), 4);
  const meta = readFileMetaData(file, key);
  const dataEnd = rowGroupsEnd(meta, footerStart);
  if (dataEnd < from) {
    const indexes = await store.getRange(key, dataEnd, from);
    if (!indexes) return undefined;
    tail = Buffer.concat([indexes, tail]);
    from = dataEnd;
  }
  return { meta, dataEnd, bytes: tail.subarray(dataEnd - from) };
}
