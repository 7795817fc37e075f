/**
 * Where Parquet encoding runs. Encoding (ZSTD in WASM) is the slowest step of an extraction, so
 * it is behind an interface: {@link inlineEncoder} runs it on the calling thread, the pool in
 * encoder-pool.ts on worker threads while the main thread keeps decoding and uploading.
 */
import { ipcBuffers } from './ipc-buffers.js';
import { encodeParquetIpc } from './encode-ipc.js';
import type { ParquetWriteOptions } from './writer-properties.js';

/** Turns one Arrow IPC stream (see `toIpcStream`) into the bytes of one Parquet file. */
export interface ParquetEncoder {
  /**
   * Waits until the encoder has room for one more file, so that a caller serializes a batch
   * only when it will be encoded soon (an IPC stream waiting in a queue is a whole batch of
   * memory). Resolves with the function to call once that file's encode has settled.
   */
  admit(): Promise<() => void>;
  /** Encodes one file. The encoder may take ownership of (detach) `ipc`'s buffer. */
  encode(ipc: Uint8Array, opts: ParquetWriteOptions): Promise<Uint8Array>;
  /** Stops any threads; pending encodes are rejected. */
  close(): Promise<void>;
}

/** Encodes on the calling thread (blocking it for the duration of each file). */
export const inlineEncoder: ParquetEncoder = {
  // Each file is encoded in the microtask after its IPC stream is made: nothing waits in a queue.
  admit: () => Promise.resolve(() => undefined),
  encode: (ipc, opts) =>
    Promise.resolve().then(() => {
      try {
        return encodeParquetIpc(ipc, opts);
      } finally {
        // A stream of toIpcStream's is done with once WASM has its copy.
        ipcBuffers.give(ipc);
      }
    }),
  close: () => Promise.resolve(),
};
