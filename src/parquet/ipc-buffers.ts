/**
 * The Arrow IPC streams that carry batches to the encoder, written into reused shared buffers.
 *
 * Why: V8 starts a full (mark-compact) collection each time an isolate's ArrayBuffers grow by
 * ~64 MB since the last one ("external memory pressure" in `--trace-gc`), and marking the worker's
 * ~60 MB heap then costs ~0.1 CPU-s on V8's helper threads. A fresh ~18 MB stream per batch (what
 * `tableToIPC` returns) made ~180 MB of such garbage per million bench rows on the main thread, and
 * as much again on the encoder thread that received it; a buffer moved to the thread and back
 * still counts as new on each arrival (measured: 16 full collections of the encoder thread in a
 * 1M-row run, 8 with these shared buffers). So the streams
 * are written into SharedArrayBuffers made once: each is posted to an encoder thread the first
 * time only, and afterwards named by its {@link IpcBuffer.id} (see encoder-pool.ts).
 */
import { RecordBatchStreamWriter, Table, type RecordBatch, type Schema } from 'apache-arrow';

/** Buffers kept: the encoder pool admits `threads + 1` streams, plus one being written. */
const MAX_POOLED = 6;

/** Headroom of a new buffer over the stream it is made for, so that the next batches fit too. */
const GROWTH = 1.25;

/** Sizes are rounded up to this, so that batches of about one size share their buffers. */
const ROUNDING = 1 << 20;

/** One reusable buffer and the name it goes by between threads. */
export interface IpcBuffer {
  readonly id: number;
  readonly memory: SharedArrayBuffer;
}

/**
 * The writer of arrow's own `tableToIPC`, keeping the views it writes (messages, padding, the
 * batch's own column buffers) instead of joining them into a new array.
 */
class ChunkCollector extends RecordBatchStreamWriter {
  readonly chunks: Uint8Array[] = [];

  protected override _write(chunk: unknown): this {
    if (!this._started) return this;
    if (!ArrayBuffer.isView(chunk)) {
      throw new TypeError('the Arrow IPC writer wrote a chunk that is not a typed array');
    }
    if (chunk.byteLength > 0) {
      this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this._position += chunk.byteLength;
    }
    return this;
  }
}

/** This thread's reusable stream buffers. */
export class IpcBufferPool {
  private readonly free: IpcBuffer[] = [];
  private readonly byMemory = new Map<ArrayBufferLike, IpcBuffer>();
  private nextId = 0;
  private readonly dropListeners: ((id: number) => void)[] = [];

  /**
   * Calls `listener` with the id of each buffer the pool lets go of (so threads can, too).
   * @returns the function that stops it.
   */
  onDrop(listener: (id: number) => void): () => void {
    this.dropListeners.push(listener);
    return () => {
      const i = this.dropListeners.indexOf(listener);
      if (i >= 0) this.dropListeners.splice(i, 1);
    };
  }

  /** The pool's buffer under `view`, if `view` is one of {@link write}'s streams. */
  bufferOf(view: Uint8Array): IpcBuffer | undefined {
    return this.byMemory.get(view.buffer);
  }

  /** A buffer of at least `bytes`, out of the pool until it is given back. */
  private take(bytes: number): IpcBuffer {
    const best = this.smallestFree(bytes);
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    // None fits: a new one, and if the pool would grow past its bound, the smallest free one goes.
    if (this.byMemory.size >= MAX_POOLED && this.free.length > 0) {
      const [dropped] = this.free.splice(this.smallestFree(0), 1);
      this.byMemory.delete(dropped!.memory);
      for (const listener of this.dropListeners) listener(dropped!.id);
    }
    const buffer: IpcBuffer = {
      id: this.nextId++,
      memory: new SharedArrayBuffer(Math.ceil((bytes * GROWTH) / ROUNDING) * ROUNDING),
    };
    this.byMemory.set(buffer.memory, buffer);
    return buffer;
  }

  /** The index of the smallest free buffer of at least `bytes`, or -1. */
  private smallestFree(bytes: number): number {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const size = this.free[i]!.memory.byteLength;
      if (size >= bytes && (best < 0 || size < this.free[best]!.memory.byteLength)) best = i;
    }
    return best;
  }

  /** Takes back the buffer of a stream whose reader is done with it (an unknown one is ignored). */
  give(view: Uint8Array): void {
    const buffer = this.bufferOf(view);
    if (buffer && !this.free.includes(buffer)) this.free.push(buffer);
  }

  /**
   * Serializes batches of `schema` to one Arrow IPC stream (the bytes `tableToIPC(table,
   * 'stream')` gives) in a buffer of this pool, which {@link give} takes back.
   */
  write(schema: Schema, batches: readonly RecordBatch[]): Uint8Array {
    const writer = new ChunkCollector();
    // What tableToIPC(new Table(schema, batches), 'stream') does (RecordBatchStreamWriter's
    // writeAll): the table's schema, each of its batches, the end of the stream.
    const table = new Table(schema, [...batches]);
    writer.reset(undefined, table.schema);
    for (const batch of table.batches) writer.write(batch);
    writer.finish();
    let bytes = 0;
    for (const c of writer.chunks) bytes += c.byteLength;
    const out = new Uint8Array(this.take(bytes).memory, 0, bytes);
    let at = 0;
    for (const c of writer.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

/** The pool of this thread (the main thread's serves its encoder threads). */
export const ipcBuffers = new IpcBufferPool();
