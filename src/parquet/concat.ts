/**
 * Concatenates Parquet files of one schema into one file without decoding a value: the row
 * groups' bytes are copied as they are, and a new footer lists them all, every absolute offset
 * shifted to its new place. The page indexes (column index, offset index), which parquet-rs
 * writes between the last row group and the footer, are moved behind the copied row groups, the
 * offset index's page locations shifted too. This is what makes compaction nearly free: it costs
 * I/O, not a second encode.
 *
 * parquet.thrift field ids used here: FileMetaData 2 schema, 3 num_rows, 4 row_groups,
 * 5 key_value_metadata; RowGroup 1 columns, 5 file_offset, 7 ordinal; ColumnChunk 2 file_offset,
 * 3 meta_data, 4/5 offset index offset/length, 6/7 column index offset/length; ColumnMetaData
 * 9 data_page_offset, 10 index_page_offset, 11 dictionary_page_offset, 14 bloom_filter_offset;
 * OffsetIndex 1 page_locations; PageLocation 1 offset; KeyValue 1 key.
 */
import {
  asStruct,
  intField,
  listField,
  readThriftStruct,
  setIntField,
  structField,
  TType,
  writeThriftStruct,
  type ThriftStruct,
  type ThriftValue,
} from './thrift-compact.js';
import { ParquetFormatError } from './format-error.js';
import { fileTail, footerLength, indexBlob, MAGIC, readFileMetaData, shift } from './file-layout.js';
import { SchemaMismatchError } from './writer.js';

/** Options of {@link concatLayout}. */
export interface ConcatOptions {
  /** Key/value metadata keys to leave out of the result (e.g. per-batch bookkeeping). */
  readonly dropKeys?: readonly string[];
}

/**
 * What concatenation needs of one input: its footer and the bytes behind its row groups (the
 * page indexes, then the footer), read from a whole file ({@link parquetTail}) or with ranged
 * reads of a stored one (`readStoredParquetTail` in stored-footer.ts).
 */
export interface ParquetTail {
  /** The file's FileMetaData. */
  readonly meta: ThriftStruct;
  /** Where the row groups end: they run from byte 4 to here. */
  readonly dataEnd: number;
  /** The file's bytes from `dataEnd` to its end. */
  readonly bytes: Uint8Array;
}

/** One piece of a concatenated file: bytes [start, end) of input `input`. */
interface CopiedRange {
  readonly input: number;
  readonly start: number;
  readonly end: number;
}

/** A concatenated file: the inputs' ranges in order, then `trailer` (page indexes and footer). */
export interface ConcatLayout {
  readonly ranges: readonly CopiedRange[];
  readonly trailer: Uint8Array;
}

/** A page index blob waiting to be written behind the row groups, and the column chunk that points at it. */
interface PendingIndex {
  readonly chunk: ThriftStruct;
  readonly bytes: Uint8Array;
}

/** Where the row groups of a file with footer `meta` end: at its first page index, else the footer. */
export function rowGroupsEnd(meta: ThriftStruct, footerStart: number): number {
  let dataEnd = footerStart;
  for (const g of listField(meta, 4)) {
    for (const c of listField(asStruct(g), 1)) {
      for (const id of [4, 6]) {
        const at = intField(asStruct(c), id);
        if (at !== undefined && Number(at) < dataEnd) dataEnd = Number(at);
      }
    }
  }
  return dataEnd;
}

/** The {@link ParquetTail} of a whole file held in memory. */
function parquetTail(bytes: Uint8Array, label: string): ParquetTail {
  const meta = readFileMetaData(bytes, label);
  const dataEnd = rowGroupsEnd(meta, bytes.length - 8 - footerLength(bytes));
  return { meta, dataEnd, bytes: bytes.subarray(dataEnd) };
}

/**
 * Lays out the concatenation of files of one schema from their tails alone: the row groups are
 * byte ranges of the inputs (the first from byte 0, its magic included; the others from byte 4),
 * so a store can copy them without this process reading them (S3 UploadPartCopy). Throws
 * {@link SchemaMismatchError} when a file's schema or key/value metadata differs from the first's,
 * and {@link ParquetFormatError} for a file with bloom filters (not written by this package, and
 * not movable here) or when there is no input.
 */
export function concatLayout(tails: readonly ParquetTail[], options: ConcatOptions = {}): ConcatLayout {
  const drop = new Set(options.dropKeys ?? []);
  const first = tails[0];
  if (!first) throw new ParquetFormatError('nothing to concatenate: no Parquet file given');
  const firstSchema = writeThriftStruct(new Map([[2, first.meta.get(2)!]]));
  const firstKeyValue = writeThriftStruct(keptKeyValues(first.meta, drop));
  const rowGroups: ThriftValue[] = [];
  const columnIndexes: PendingIndex[] = [];
  const offsetIndexes: PendingIndex[] = [];
  const ranges: CopiedRange[] = [];
  let numRows = 0n;
  let pos = 0;
  tails.forEach(({ meta, dataEnd, bytes }, n) => {
    const schema = writeThriftStruct(new Map([[2, meta.get(2)!]]));
    if (
      !sameBytes(schema, firstSchema) ||
      !sameBytes(writeThriftStruct(keptKeyValues(meta, drop)), firstKeyValue)
    ) {
      throw new SchemaMismatchError(`Parquet file ${n} of a concatenation has another schema than the first`);
    }
    const start = n === 0 ? 0 : MAGIC.length;
    const delta = BigInt(pos + (n === 0 ? 0 : -MAGIC.length));
    const groups = listField(meta, 4);
    for (const g of groups) {
      const group = asStruct(g);
      shift(group, 5, delta);
      setIntField(group, 7, BigInt(rowGroups.length), TType.I16);
      numRows += intField(group, 3) ?? 0n;
      rowGroups.push(g);
    }
    for (const c of groups.flatMap((g) => listField(asStruct(g), 1).map(asStruct))) {
      shift(c, 2, delta);
      const md = structField(c, 3);
      for (const id of [9, 10, 11]) shift(md, id, delta);
      if (md.has(14)) {
        throw new ParquetFormatError(
          `Parquet file ${n} has bloom filters, which concatenation does not move`,
        );
      }
      const columnIndex = indexBlob(bytes, c, 6, 7, dataEnd);
      if (columnIndex) columnIndexes.push({ chunk: c, bytes: columnIndex });
      const offsetIndex = indexBlob(bytes, c, 4, 5, dataEnd);
      if (offsetIndex) offsetIndexes.push({ chunk: c, bytes: shiftedOffsetIndex(offsetIndex, delta) });
    }
    ranges.push({ input: n, start, end: dataEnd });
    pos += dataEnd - start;
  });

  // parquet-rs' order: every column index, then every offset index, then the footer.
  const trailer: Uint8Array[] = [];
  for (const [pending, offsetId, lengthId] of [
    [columnIndexes, 6, 7],
    [offsetIndexes, 4, 5],
  ] as const) {
    for (const p of pending) {
      setIntField(p.chunk, offsetId, BigInt(pos));
      setIntField(p.chunk, lengthId, BigInt(p.bytes.length), TType.I32);
      trailer.push(p.bytes);
      pos += p.bytes.length;
    }
  }
  const meta: ThriftStruct = new Map(first.meta);
  setIntField(meta, 3, numRows);
  meta.set(4, { type: TType.LIST, value: { elementType: TType.STRUCT, items: rowGroups } });
  const kept = keptKeyValues(first.meta, drop).get(5);
  if (kept) meta.set(5, kept);
  else meta.delete(5);
  trailer.push(...fileTail(meta));
  return { ranges, trailer: Buffer.concat(trailer) };
}

/**
 * The concatenation of whole files held in memory, as chunks: {@link concatLayout} over their
 * tails, then the ranges and the trailer.
 */
export function concatParquet(files: readonly Uint8Array[], options: ConcatOptions = {}): Uint8Array[] {
  const layout = concatLayout(
    files.map((f, n) => parquetTail(f, `Parquet file ${n} of a concatenation`)),
    options,
  );
  return [...layout.ranges.map((r) => files[r.input]!.subarray(r.start, r.end)), layout.trailer];
}

/** Field 5 (key/value metadata) of a footer without the dropped keys, as a one-field struct. */
function keptKeyValues(meta: ThriftStruct, drop: ReadonlySet<string>): ThriftStruct {
  const items = listField(meta, 5).filter((kv) => {
    const key = asStruct(kv).get(1);
    return !(key?.type === TType.BINARY && drop.has(new TextDecoder().decode(key.value)));
  });
  const out: ThriftStruct = new Map();
  if (items.length > 0) out.set(5, { type: TType.LIST, value: { elementType: TType.STRUCT, items } });
  return out;
}

/** An OffsetIndex with every page location's offset moved by `delta`. */
function shiftedOffsetIndex(blob: Uint8Array, delta: bigint): Uint8Array {
  const { struct, length } = readThriftStruct(blob);
  if (length !== blob.length) throw new ParquetFormatError('an offset index has trailing bytes');
  for (const loc of listField(struct, 1)) shift(asStruct(loc), 1, delta);
  return writeThriftStruct(struct);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
