/**
 * Reading a Parquet file's footer: row counts, row groups, codecs, key/value metadata and the
 * Arrow schema. In memory through a small Thrift compact reader (no copy into WASM memory, which
 * never shrinks), or from a Blob through parquet-wasm's metadata API.
 */
import { tableFromIPC, type Schema } from 'apache-arrow';
import { parquetWasm } from './parquet-wasm.js';
import { ParquetFormatError } from './format-error.js';
import { asStruct, intField, listField, readThriftStruct, textField, TType } from './thrift-compact.js';

/** What a Parquet file's footer says. */
export interface ParquetFileInfo {
  /** Total rows per the footer (checked against the sum of the row groups' rows). */
  readonly rows: number;
  readonly rowGroups: number;
  readonly rowGroupRows: readonly number[];
  /** The Arrow schema (from the `ARROW:schema` entry, or derived by parquet-wasm without it). */
  readonly schema: Schema;
  /** Distinct codecs of the column chunks, e.g. `['ZSTD']`. */
  readonly codecs: readonly string[];
  readonly createdBy: string | undefined;
  /** File key/value metadata except `ARROW:schema`. */
  readonly keyValueMetadata: Readonly<Record<string, string>>;
}

/**
 * Reads the footer of a Parquet file held in memory, synchronously and without copying the
 * file into WASM memory (which never shrinks): used to check that a stored file holds the
 * row count that was decoded from the source.
 *
 * @throws ParquetFormatError when the bytes are not a Parquet file.
 */
export function readParquetMetadata(bytes: Uint8Array): ParquetFileInfo {
  const footer = readFooter(bytes);
  const kv = new Map(footer.keyValue);
  const arrowSchema = kv.get('ARROW:schema');
  kv.delete('ARROW:schema');
  let schema: Schema;
  if (arrowSchema !== undefined) {
    schema = tableFromIPC(Buffer.from(arrowSchema, 'base64')).schema;
  } else {
    // Files from other writers: let parquet-rs derive the Arrow schema (copies the file).
    schema = tableFromIPC(parquetWasm().readSchema(bytes).intoIPCStream()).schema;
  }
  return {
    rows: footer.numRows,
    rowGroups: footer.rowGroupRows.length,
    rowGroupRows: footer.rowGroupRows,
    schema,
    codecs: footer.codecs,
    createdBy: footer.createdBy,
    keyValueMetadata: Object.fromEntries(kv),
  };
}

/**
 * Only the row count of a Parquet file held in memory (its footer's, checked against its row
 * groups): the per-batch proof that a file holds what was decoded, without decoding the Arrow
 * schema that {@link readParquetMetadata} also returns.
 *
 * @throws ParquetFormatError when the bytes are not a Parquet file.
 */
export function parquetRowCount(bytes: Uint8Array): number {
  return readFooter(bytes).numRows;
}

/**
 * The same information through parquet-wasm's own metadata API, from a Blob (e.g.
 * `fs.openAsBlob(path)`): only the footer is read, so it suits large files on disk.
 */
export async function readParquetMetadataFromBlob(blob: Blob): Promise<ParquetFileInfo> {
  const wasm = parquetWasm();
  const file = await wasm.ParquetFile.fromFile(blob);
  try {
    const meta = file.metadata();
    const fileMeta = meta.fileMetadata();
    const rowGroupRows: number[] = [];
    const codecs = new Set<string>();
    for (let i = 0; i < meta.numRowGroups(); i++) {
      const rg = meta.rowGroup(i);
      rowGroupRows.push(rg.numRows());
      for (const col of rg.columns()) {
        codecs.add(wasm.Compression[col.compression()]);
        col.free();
      }
      rg.free();
    }
    const kv = new Map<string, string>();
    for (const [k, v] of fileMeta.keyValueMetadata() as Map<unknown, unknown>) {
      if (typeof k === 'string' && k !== 'ARROW:schema') kv.set(k, typeof v === 'string' ? v : '');
    }
    const info: ParquetFileInfo = {
      rows: fileMeta.numRows(),
      rowGroups: rowGroupRows.length,
      rowGroupRows,
      schema: tableFromIPC(file.schema().intoIPCStream()).schema,
      codecs: [...codecs].sort(),
      createdBy: fileMeta.createdBy(),
      keyValueMetadata: Object.fromEntries(kv),
    };
    fileMeta.free();
    meta.free();
    return info;
  } finally {
    file.free();
  }
}

// ---------------------------------------------------------------------------------------------
// Footer reader: parquet-wasm has no synchronous metadata API, and its readers would copy the
// whole file into WASM memory; the footer is a few KB of Thrift, read with thrift-compact.ts.

/** Parquet's CompressionCodec enum (parquet.thrift), which differs from parquet-wasm's. */
const THRIFT_CODECS = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'];
const MAGIC = 0x31524150; // "PAR1" little-endian

interface Footer {
  numRows: number;
  rowGroupRows: number[];
  codecs: string[];
  keyValue: [string, string][];
  createdBy: string | undefined;
}

/** FileMetaData fields: 3 num_rows, 4 row_groups (RowGroup: 1 columns, 3 num_rows), 5 key_value_metadata, 6 created_by. */
function readFooter(bytes: Uint8Array): Footer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  if (n < 12 || view.getUint32(0, true) !== MAGIC || view.getUint32(n - 4, true) !== MAGIC) {
    throw new ParquetFormatError(`not a Parquet file (${n} bytes, no PAR1 magic at both ends)`);
  }
  const len = view.getUint32(n - 8, true);
  if (len + 12 > n) throw new ParquetFormatError(`Parquet footer length ${len} exceeds the file size ${n}`);
  const meta = readThriftStruct(bytes.subarray(n - 8 - len, n - 8)).struct;
  const numRows = intField(meta, 3);
  if (numRows === undefined) throw new ParquetFormatError('Parquet footer has no num_rows');
  const codecs = new Set<string>();
  const rowGroupRows = listField(meta, 4).map((g) => {
    const group = asStruct(g);
    for (const chunk of listField(group, 1)) {
      // ColumnChunk 3 meta_data (absent only in encrypted files), ColumnMetaData 4 codec.
      const md = asStruct(chunk).get(3);
      const codec = md?.type === TType.STRUCT ? intField(md.value, 4) : undefined;
      if (codec !== undefined) codecs.add(THRIFT_CODECS[Number(codec)] ?? `CODEC_${codec}`);
    }
    const rows = intField(group, 3);
    if (rows === undefined) throw new ParquetFormatError('Parquet row group without num_rows');
    return Number(rows);
  });
  const sum = rowGroupRows.reduce((a, b) => a + b, 0);
  if (sum !== Number(numRows)) {
    throw new ParquetFormatError(`Parquet footer says ${numRows} rows but its row groups hold ${sum}`);
  }
  const keyValue = listField(meta, 5).map((kv): [string, string] => {
    const pair = asStruct(kv);
    return [textField(pair, 1) ?? '', textField(pair, 2) ?? ''];
  });
  return {
    numRows: Number(numRows),
    rowGroupRows,
    codecs: [...codecs].sort(),
    keyValue,
    createdBy: textField(meta, 6),
  };
}
