/**
 * parquet-wasm, loaded on first use. Instantiating its WASM costs a thread ~19 MiB (measured with
 * an idle worker thread: 10 MiB without it, 29 with it), and a worker's main thread needs it only
 * off the default path (encoding without encoder threads, compaction's `rewrite` mode, footers of
 * other writers' files): the encoder threads write the files. The package's Node build is
 * CommonJS, so a synchronous `require` gives the very module an `import` would.
 */
import { createRequire } from 'node:module';
import type * as ParquetWasmModule from 'parquet-wasm';

/** The parquet-wasm module (its Node build). */
type ParquetWasm = typeof ParquetWasmModule;

let loaded: ParquetWasm | undefined;

/** parquet-wasm, instantiated in this thread the first time it is asked for. */
export function parquetWasm(): ParquetWasm {
  loaded ??= createRequire(import.meta.url)('parquet-wasm') as ParquetWasm;
  return loaded;
}
