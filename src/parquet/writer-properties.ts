/**
 * parquet-wasm writer properties: the options a Parquet file is written with, and the one place
 * that turns them into a `WriterProperties`. Properties are consumed by use and a reused object
 * silently writes UNCOMPRESSED (TECH-NOTES "parquet-wasm 0.8.0"), so every file gets a freshly
 * built chain from {@link writerProperties}.
 */
import type * as wasm from 'parquet-wasm';
import { parquetWasm } from './parquet-wasm.js';
import { COMPRESSIONS, type Compression } from '../contract/compression.js';
import type { LogicalTypeAnnotation } from './logical-types.js';

/** How Parquet files are written. */
export interface ParquetWriteOptions {
  readonly compression: Compression;
  /** Maximum rows per row group. */
  readonly rowGroupRows: number;
  /**
   * Extra file-level key/value metadata (written in key order, so output stays deterministic).
   * Arrow schema metadata is carried anyway, inside the `ARROW:schema` entry.
   */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Top-level columns written without dictionary encoding (see column-encoding.ts): for values
   * that seldom repeat, a dictionary costs CPU and makes files larger.
   */
  readonly noDictionary?: readonly string[];
  /**
   * Data page format (default 1). Version 2 pages with their delta encodings are ~40% faster to
   * write and smaller, but not every engine reads them (older Spark, some warehouses' loaders),
   * so they are used only for files no one else reads (see `intermediate` in extract-partition.ts).
   */
  readonly dataPageVersion?: 1 | 2;
  /**
   * Logical types written into the footer after parquet-wasm (UUID, JSON: see logical-types.ts).
   * `writeParquetFile` and `createParquetStream` take them from the schema's extension fields when
   * absent; `encodeParquetIpc`, which sees only bytes, needs them here.
   */
  readonly logicalTypes?: readonly LogicalTypeAnnotation[];
}

/**
 * parquet-wasm's codec for each name of the contract's list (src/contract/export-input.ts), typed
 * by it so that the input schema and the writer cannot disagree. `lz4` is written as LZ4_RAW (the
 * non-deprecated framing).
 */
const CODEC: Readonly<Record<Compression, keyof typeof wasm.Compression>> = {
  zstd: 'ZSTD',
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  brotli: 'BROTLI',
  lz4: 'LZ4_RAW',
  uncompressed: 'UNCOMPRESSED',
};

/**
 * Builds a fresh properties object for exactly one write. Never cache the result: parquet-wasm
 * takes ownership of it, and a second use silently falls back to the defaults.
 *
 * @throws RangeError when the options are invalid (see {@link checkWriteOptions}).
 */
export function writerProperties(opts: ParquetWriteOptions): wasm.WriterProperties {
  checkWriteOptions(opts);
  const pw = parquetWasm();
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression[CODEC[opts.compression]])
    .setMaxRowGroupSize(opts.rowGroupRows);
  const entries = Object.entries(opts.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length > 0) builder = builder.setKeyValueMetadata(new Map(entries));
  for (const column of opts.noDictionary ?? []) builder = builder.setColumnDictionaryEnabled(column, false);
  if (opts.dataPageVersion === 2) builder = builder.setWriterVersion(pw.WriterVersion.V2);
  return builder.build();
}

/**
 * Validates options before any work, so that a streaming write fails before it reads its input.
 *
 * @throws RangeError naming the option, the value and what would be accepted.
 */
export function checkWriteOptions(opts: ParquetWriteOptions): void {
  if (!Object.hasOwn(CODEC, opts.compression)) {
    throw new RangeError(
      `invalid parquet.compression ${JSON.stringify(opts.compression)}: expected one of ${COMPRESSIONS.join(', ')}`,
    );
  }
  if (!Number.isSafeInteger(opts.rowGroupRows) || opts.rowGroupRows < 1) {
    throw new RangeError(
      `invalid parquet.rowGroupRows ${String(opts.rowGroupRows)}: expected a positive integer`,
    );
  }
}
