/**
 * Native libzstd for page compression (page-compression.ts), from @cloudpss/zstd's prebuilt
 * Node-API binaries (shipped inside its npm package for Linux, macOS and Windows on x64 and arm64,
 * so installing needs no compiler and no download). Where it does not load, or where
 * `PG_PARQUET_ZSTD=wasm` asks for it, ZSTD stays with parquet-wasm's own (slower) codec.
 */

/** Environment variable choosing the ZSTD implementation: `native` (default) or `wasm`. */
const ZSTD_ENV = 'PG_PARQUET_ZSTD';

/**
 * The level parquet-rs uses by default (its `ZstdLevel::default()` is 1), so files stay as small
 * as parquet-wasm's: measured on 1M bench rows, 57.5 MB native against 60.4 MB from parquet-wasm.
 */
const LEVEL = 1;

/** A synchronous page compressor, or undefined when native ZSTD is not available or not wanted. */
export type ZstdCompress = (page: Uint8Array) => Uint8Array;

async function load(env: NodeJS.ProcessEnv): Promise<ZstdCompress | undefined> {
  const wanted = env[ZSTD_ENV] ?? 'native';
  if (wanted !== 'native' && wanted !== 'wasm') {
    throw new RangeError(`invalid ${ZSTD_ENV} ${JSON.stringify(wanted)}: expected native or wasm`);
  }
  if (wanted === 'wasm') return undefined;
  try {
    const zstd = await import('@cloudpss/zstd/napi');
    return (page) => zstd.compress(page, LEVEL);
  } catch {
    // No prebuilt binary for this platform: parquet-wasm's codec writes the same format.
    return undefined;
  }
}

/** Loaded once per thread, when this module is first imported. */
export const nativeZstd: ZstdCompress | undefined = await load(process.env);
