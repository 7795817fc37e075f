/**
 * Entry point of an encoder thread (see encoder-pool.ts): one request at a time, Arrow IPC bytes
 * in, Parquet bytes out, both moved (transferred), never copied between threads. Each thread has
 * its own parquet-wasm instance, whose memory is reused from file to file.
 */
import { parentPort } from 'node:worker_threads';
import type { EncodeReply, EncodeRequest } from './encoder-pool.js';
import { encodeParquetIpc } from './writer.js';

const port = parentPort;
if (!port) throw new Error('encode-worker must run as a worker thread');

port.on('message', (request: EncodeRequest) => {
  let reply: EncodeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const parquet = encodeParquetIpc(request.ipc, request.opts);
    reply = { id: request.id, parquet };
    if (parquet.byteOffset === 0 && parquet.byteLength === parquet.buffer.byteLength) {
      transfer = [parquet.buffer as ArrayBuffer];
    }
  } catch (err) {
    // parquet-wasm throws strings as well as Errors.
    const error =
      err instanceof Error
        ? { name: err.name, message: err.message }
        : { name: 'Error', message: String(err) };
    reply = { id: request.id, error };
  }
  port.postMessage(reply, transfer);
});
