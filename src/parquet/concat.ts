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

/** Options of {@link concatParquet}. */
export interface ConcatOptions {
  /** Key/value metadata keys to leave out of the result (e.g. per-batch bookkeeping). */
  readonly dropKeys?: readonly string[];
}

/** A page index blob waiting to be written behind the row groups, and the column chunk that points at it. */
interface PendingIndex {
  readonly chunk: ThriftStruct;
  readonly bytes: Uint8Array;
}

/**
 * Streams the concatenation of `files` (each a whole Parquet file, read one at a time, so memory
 * holds one input plus the footers). Throws {@link SchemaMismatchError} when a file's schema or
 * key/value metadata differs from the first's, and {@link ParquetFormatError} for a file that is
 * not Parquet or has bloom filters (not written by this package, and not movable here).
 */
export async function* concatParquet(
  files: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ConcatOptions = {},
): AsyncGenerator<Uint8Array> {
  const drop = new Set(options.dropKeys ?? []);
  let first: { meta: ThriftStruct; schema: Uint8Array; keyValue: Uint8Array } | undefined;
  const rowGroups: ThriftValue[] = [];
  const columnIndexes: PendingIndex[] = [];
  const offsetIndexes: PendingIndex[] = [];
  let numRows = 0n;
  yield MAGIC;
  let pos = MAGIC.length;
  let n = 0;
  // for-await takes sync iterables too; the cast only names the element type for the checker.
  for await (const bytes of files as AsyncIterable<Uint8Array>) {
    const meta = readFileMetaData(bytes, `Parquet file ${n} of a concatenation`);
    const schema = writeThriftStruct(new Map([[2, meta.get(2)!]]));
    const keyValue = keptKeyValues(meta, drop);
    if (!first) first = { meta, schema, keyValue: writeThriftStruct(keyValue) };
    else if (!sameBytes(schema, first.schema) || !sameBytes(writeThriftStruct(keyValue), first.keyValue)) {
      throw new SchemaMismatchError(`Parquet file ${n} of a concatenation has another schema than the first`);
    }

    const groups = listField(meta, 4);
    const chunks = groups.flatMap((g) => listField(asStruct(g), 1).map(asStruct));
    // Row groups run from byte 4 to the first page index (or the footer when there is none).
    let dataEnd = bytes.length - 8 - footerLength(bytes);
    for (const c of chunks) {
      for (const id of [4, 6]) {
        const at = intField(c, id);
        if (at !== undefined && Number(at) < dataEnd) dataEnd = Number(at);
      }
    }
    const delta = BigInt(pos - MAGIC.length);
    for (const g of groups) {
      const group = asStruct(g);
      shift(group, 5, delta);
      setIntField(group, 7, BigInt(rowGroups.length), TType.I16);
      numRows += intField(group, 3) ?? 0n;
      rowGroups.push(g);
    }
    for (const c of chunks) {
      shift(c, 2, delta);
      const md = structField(c, 3);
      for (const id of [9, 10, 11]) shift(md, id, delta);
      if (md.has(14)) {
        throw new ParquetFormatError(
          `Parquet file ${n} has bloom filters, which concatenation does not move`,
        );
      }
      const columnIndex = indexBlob(bytes, c, 6, 7);
      if (columnIndex) columnIndexes.push({ chunk: c, bytes: columnIndex });
      const offsetIndex = indexBlob(bytes, c, 4, 5);
      if (offsetIndex) offsetIndexes.push({ chunk: c, bytes: shiftedOffsetIndex(offsetIndex, delta) });
    }
    yield bytes.subarray(MAGIC.length, dataEnd);
    pos += dataEnd - MAGIC.length;
    n++;
  }
  if (!first) throw new ParquetFormatError('nothing to concatenate: no Parquet file given');

  // parquet-rs' order: every column index, then every offset index, then the footer.
  for (const [pending, offsetId, lengthId] of [
    [columnIndexes, 6, 7],
    [offsetIndexes, 4, 5],
  ] as const) {
    for (const p of pending) {
      setIntField(p.chunk, offsetId, BigInt(pos));
      setIntField(p.chunk, lengthId, BigInt(p.bytes.length), TType.I32);
      yield p.bytes;
      pos += p.bytes.length;
    }
  }
  const meta: ThriftStruct = new Map(first.meta);
  setIntField(meta, 3, numRows);
  meta.set(4, { type: TType.LIST, value: { elementType: TType.STRUCT, items: rowGroups } });
  const kept = keptKeyValues(first.meta, drop).get(5);
  if (kept) meta.set(5, kept);
  else meta.delete(5);
  yield* fileTail(meta);
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
