/**
 * Arrow IPC bytes → one Parquet file: what an encoder thread runs (encode-worker.ts). It imports
 * only what that takes (parquet-wasm, native ZSTD, the footer rewriters), neither apache-arrow nor
 * the input validation, so each encoder thread's isolate stays small (an idle thread 44 → 28 MiB).
 */
import { releaseBuffer } from '../arrow/release-buffer.js';
import { parquetWasm } from './parquet-wasm.js';
import { annotateLogicalTypes } from './logical-types.js';
import { nativeZstd } from './native-zstd.js';
import { CODEC_ID, compressPages } from './page-compression.js';
import { writerProperties, type ParquetWriteOptions } from './writer-properties.js';

/**
 * Writes one Parquet file from an Arrow IPC stream made by `toIpcStream` (writer.ts). This is the
 * CPU-heavy step (the page layout in WASM, then ZSTD), which is why it takes plain bytes: it can
 * run on a worker thread (see encoder-pool.ts).
 */
export function encodeParquetIpc(ipc: Uint8Array, opts: ParquetWriteOptions): Uint8Array {
  const wasm = parquetWasm();
  const table = wasm.Table.fromIPCStream(ipc);
  let file: Uint8Array;
  if (opts.compression === 'zstd' && nativeZstd) {
    // parquet-wasm lays out the pages, native libzstd compresses them (~4x less CPU than WASM).
    const plain = wasm.writeParquet(table, writerProperties({ ...opts, compression: 'uncompressed' }));
    file = compressPages(plain, nativeZstd, CODEC_ID.ZSTD);
    // The uncompressed copy (as large as the batch's data) is garbage now: free it at once.
    if (file.buffer !== plain.buffer) releaseBuffer(plain);
  } else file = wasm.writeParquet(table, writerProperties(opts));
  // Last: the footer rewrite of the logical types leaves the pages where compressPages put them.
  return annotateLogicalTypes(file, opts.logicalTypes ?? []);
}
