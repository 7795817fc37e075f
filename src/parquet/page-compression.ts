/**
 * Compresses the pages of an UNCOMPRESSED Parquet file, giving the file the writer would have
 * written with that codec: every page header, statistic, encoding and page boundary stays as
 * parquet-rs chose them; only each page's bytes, its compressed size, the column chunks' codec,
 * sizes and offsets, and the offset index's page locations change.
 *
 * Why: parquet-wasm's ZSTD runs in WASM on the calling thread and was measured at ~1.3 CPU-s per
 * million bench rows, more than half of its encode; native libzstd does the same pages in ~0.3 s.
 * No library rewrites Parquet pages, and the footer codec this package already has
 * (thrift-compact.ts) makes it a walk over the column chunks.
 *
 * parquet.thrift field ids used here: FileMetaData 4 row_groups; RowGroup 1 columns, 5 file_offset,
 * 6 total_compressed_size; ColumnChunk 2 file_offset, 3 meta_data, 4/5 offset index, 6/7 column
 * index; ColumnMetaData 4 codec, 7 total_compressed_size, 9 data_page_offset, 10 index_page_offset,
 * 11 dictionary_page_offset, 14 bloom_filter_offset; PageHeader 1 type, 3 compressed_page_size,
 * 4 crc, 8 data_page_header_v2; DataPageHeaderV2 5/6 definition/repetition levels byte length,
 * 7 is_compressed; OffsetIndex 1 page_locations; PageLocation 1 offset, 2 compressed_page_size.
 */
import { ParquetFormatError } from './format-error.js';
import { fileTail, footerLength, indexBlob, MAGIC, readFileMetaData } from './file-layout.js';
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
} from './thrift-compact.js';

/** parquet.thrift CompressionCodec values. */
export const CODEC_ID = { UNCOMPRESSED: 0, ZSTD: 6 } as const;

const DATA_PAGE_V2 = 3;

/** One page body in, its compressed bytes out (a pure function of its input). */
export type PageCompressor = (page: Uint8Array) => Uint8Array;

/**
 * Returns `file` (written UNCOMPRESSED) with every page compressed by `compress` and the column
 * chunks marked with `codec`.
 *
 * @throws ParquetFormatError when the file is not laid out as parquet-rs writes it (column chunks
 * back to back from byte 4, pages without CRCs, no bloom filters, uncompressed chunks), so a caller
 * can fall back to its writer's own compression.
 */
export function compressPages(file: Uint8Array, compress: PageCompressor, codec: number): Uint8Array {
  const meta = readFileMetaData(file, 'the Parquet file to compress');
  const out: Uint8Array[] = [MAGIC];
  let pos = MAGIC.length;
  let expected = MAGIC.length;
  const columnIndexes: { chunk: ThriftStruct; blob: Uint8Array }[] = [];
  const offsetIndexes: { chunk: ThriftStruct; blob: Uint8Array }[] = [];

  for (const g of listField(meta, 4)) {
    const group = asStruct(g);
    const groupStart = pos;
    let groupCompressed = 0n;
    for (const c of listField(group, 1)) {
      const chunk = asStruct(c);
      const md = structField(chunk, 3);
      if (md.has(14)) throw new ParquetFormatError('a column chunk has a bloom filter, which is not moved');
      if (intField(md, 4) !== BigInt(CODEC_ID.UNCOMPRESSED)) {
        throw new ParquetFormatError('a column chunk is already compressed');
      }
      const dictionary = intField(md, 11);
      const dataPage = intField(md, 9);
      const total = intField(md, 7);
      if (dataPage === undefined || total === undefined) {
        throw new ParquetFormatError('a column chunk has no data page offset or size');
      }
      const start = Number(dictionary !== undefined && dictionary > 0n ? dictionary : dataPage);
      const end = start + Number(total);
      if (start !== expected || end > file.length - 8 - footerLength(file)) {
        throw new ParquetFormatError('column chunks are not back to back from the start of the file');
      }
      expected = end;

      // Old page offset → [new offset, new compressed size], for the offset index.
      const moved = new Map<number, [number, number]>();
      const chunkStart = pos;
      for (let at = start; at < end; ) {
        const { struct: header, length } = readThriftStruct(file.subarray(at, end));
        if (header.has(4))
          throw new ParquetFormatError('a page has a CRC, which compression would invalidate');
        const size = Number(intField(header, 3) ?? -1n);
        const body = file.subarray(at + length, at + length + size);
        if (size < 0 || body.length !== size)
          throw new ParquetFormatError('a page runs past its column chunk');
        const packed = compressedBody(header, body, compress);
        const packedSize = packed.reduce((n, p) => n + p.length, 0);
        setIntField(header, 3, BigInt(packedSize), TType.I32);
        const headerBytes = writeThriftStruct(header);
        const pageSize = headerBytes.length + packedSize;
        moved.set(at, [pos, pageSize]);
        out.push(headerBytes, ...packed);
        pos += pageSize;
        at += length + size;
      }
      const newTotal = BigInt(pos - chunkStart);
      const delta = BigInt(chunkStart - start);
      setIntField(md, 4, BigInt(codec), TType.I32);
      setIntField(md, 7, newTotal);
      for (const id of [9, 10, 11]) {
        const old = intField(md, id);
        if (old !== undefined && old > 0n) setIntField(md, id, BigInt(movedPage(moved, Number(old))[0]));
      }
      // parquet-rs points a chunk's file_offset at its end (where the old format put the metadata).
      const fileOffset = intField(chunk, 2);
      if (fileOffset !== undefined && fileOffset !== 0n) {
        setIntField(chunk, 2, fileOffset === BigInt(end) ? BigInt(pos) : fileOffset + delta);
      }
      const columnIndex = indexBlob(file, chunk, 6, 7);
      const offsetIndex = indexBlob(file, chunk, 4, 5);
      if (columnIndex) columnIndexes.push({ chunk, blob: columnIndex });
      if (offsetIndex) offsetIndexes.push({ chunk, blob: movedOffsetIndex(offsetIndex, moved) });
      groupCompressed += newTotal;
    }
    const groupOffset = intField(group, 5);
    if (groupOffset !== undefined && groupOffset !== 0n) setIntField(group, 5, BigInt(groupStart));
    if (group.has(6)) setIntField(group, 6, groupCompressed);
  }

  // parquet-rs' order behind the row groups: every column index, then every offset index.
  for (const [pending, offsetId, lengthId] of [
    [columnIndexes, 6, 7],
    [offsetIndexes, 4, 5],
  ] as const) {
    for (const { chunk, blob } of pending) {
      setIntField(chunk, offsetId, BigInt(pos));
      setIntField(chunk, lengthId, BigInt(blob.length), TType.I32);
      out.push(blob);
      pos += blob.length;
    }
  }
  out.push(...fileTail(meta));
  return Buffer.concat(out);
}

/** A page's compressed body: V2 data pages keep their levels uncompressed, as the format says. */
function compressedBody(header: ThriftStruct, body: Uint8Array, compress: PageCompressor): Uint8Array[] {
  if (Number(intField(header, 1)) !== DATA_PAGE_V2) return [compress(body)];
  const v2 = structField(header, 8);
  const levels = Number((intField(v2, 5) ?? 0n) + (intField(v2, 6) ?? 0n));
  if (levels > body.length) throw new ParquetFormatError('a V2 page has more level bytes than bytes');
  v2.set(7, { type: TType.TRUE, value: true });
  return [body.subarray(0, levels), compress(body.subarray(levels))];
}

function movedPage(moved: ReadonlyMap<number, [number, number]>, old: number): [number, number] {
  const to = moved.get(old);
  if (!to) throw new ParquetFormatError(`no page starts at offset ${old} of its column chunk`);
  return to;
}

/** An OffsetIndex whose page locations point at the compressed pages. */
function movedOffsetIndex(blob: Uint8Array, moved: ReadonlyMap<number, [number, number]>): Uint8Array {
  const { struct, length } = readThriftStruct(blob);
  if (length !== blob.length) throw new ParquetFormatError('an offset index has trailing bytes');
  for (const loc of listField(struct, 1)) {
    const location = asStruct(loc);
    const [offset, size] = movedPage(moved, Number(intField(location, 1) ?? -1n));
    setIntField(location, 1, BigInt(offset));
    setIntField(location, 2, BigInt(size), TType.I32);
  }
  return writeThriftStruct(struct);
}
