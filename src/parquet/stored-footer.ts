/**
 * Reads a stored Parquet file's footer with ranged reads (the file itself may be hundreds of
 * MiB): verification re-counts rows without downloading data, and compaction lays out a data file
 * from its raw files' tails alone (concat.ts).
 */
import type { ObjectStore } from '../storage/object-store.js';
import { rowGroupsEnd, type ParquetTail } from './concat.js';
import { MAGIC, readFileMetaData } from './file-layout.js';
import { readParquetMetadata, type ParquetFileInfo } from './footer.js';
import { ParquetFormatError } from './format-error.js';

/** First guess of the footer's size: one request for almost every file. */
const TAIL_GUESS = 64 * 1024;

/** The end of a stored file, footer included: its bytes from `from` on, and where the footer starts. */
interface StoredEnd {
  readonly bytes: Uint8Array;
  readonly from: number;
  readonly footerStart: number;
}

/** One ranged read of the last 64 KiB, a second when the footer is longer; undefined when missing. */
async function readStoredEnd(store: ObjectStore, key: string, size: number): Promise<StoredEnd | undefined> {
  if (size < 12) throw new ParquetFormatError(`${key}: ${size} bytes is too small for Parquet`);
  let from = Math.max(0, size - TAIL_GUESS);
  let bytes = await store.getRange(key, from, size);
  if (!bytes) return undefined;
  const footerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(
    bytes.byteLength - 8,
    true,
  );
  const footerStart = size - 8 - footerLength;
  if (footerStart < 4) throw new ParquetFormatError(`${key}: footer length ${footerLength} exceeds the file`);
  if (footerStart < from) {
    bytes = await store.getRange(key, footerStart, size);
    if (!bytes) return undefined;
    from = footerStart;
  }
  return { bytes, from, footerStart };
}

/** The leading magic plus the footer: a whole file to the footer readers. */
function footerAsFile(end: StoredEnd): Uint8Array {
  const footer = end.bytes.subarray(end.footerStart - end.from);
  const file = new Uint8Array(MAGIC.length + footer.length);
  file.set(MAGIC, 0);
  file.set(footer, MAGIC.length);
  return file;
}

/** The footer info of a stored file, or `undefined` when the object does not exist. */
export async function readStoredParquetInfo(
  store: ObjectStore,
  key: string,
  size: number,
): Promise<ParquetFileInfo | undefined> {
  const end = await readStoredEnd(store, key, size);
  return end && readParquetMetadata(footerAsFile(end));
}

/**
 * The tail of a stored file (its page indexes and footer: what concatenation needs, see
 * concat.ts) with one to three ranged reads, or `undefined` when the object does not exist.
 */
export async function readStoredParquetTail(
  store: ObjectStore,
  key: string,
  size: number,
): Promise<ParquetTail | undefined> {
  const end = await readStoredEnd(store, key, size);
  if (!end) return undefined;
  const meta = readFileMetaData(footerAsFile(end), key);
  const dataEnd = rowGroupsEnd(meta, end.footerStart);
  let { bytes, from } = end;
  if (dataEnd < from) {
    const indexes = await store.getRange(key, dataEnd, from);
    if (!indexes) return undefined;
    bytes = Buffer.concat([indexes, bytes]);
    from = dataEnd;
  }
  return { meta, dataEnd, bytes: bytes.subarray(dataEnd - from) };
}
