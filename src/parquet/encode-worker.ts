/**
 * Entry point of an encoder thread (see encoder-pool.ts): one request at a time, Arrow IPC bytes
 * in, Parquet bytes out, both moved (transferred), never copied between threads. Each thread has
 * its own parquet-wasm instance, whose memory is reused from file to file.
 */
import { parentPort } from 'node:worker_threads';
import type { EncodeReply, EncodeRequest, ForgetBuffer } from './encoder-pool.js';
import { encodeParquetIpc } from './encode-ipc.js';

const port = parentPort;
if (!port) throw new Error('encode-worker must run as a worker thread');

/** The main thread's shared stream buffers this thread was sent, by id (see ipc-buffers.ts). */
const shared = new Map<number, SharedArrayBuffer>();

function streamOf(ipc: EncodeRequest['ipc']): Uint8Array {
  if (ArrayBuffer.isView(ipc)) return ipc;
  if (ipc.memory) shared.set(ipc.buffer, ipc.memory);
  const memory = shared.get(ipc.buffer);
  if (!memory) throw new Error(`shared stream buffer ${ipc.buffer} was never sent to this thread`);
  return new Uint8Array(memory, 0, ipc.bytes);
}

port.on('message', (message: EncodeRequest | ForgetBuffer) => {
  if ('forget' in message) {
    shared.delete(message.forget);
    return;
  }
  const request = message;
  let reply: EncodeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const parquet = encodeParquetIpc(streamOf(request.ipc), request.opts);
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
