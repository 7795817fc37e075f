/**
 * A pool of worker threads that encode Parquet files, so that encoding (parquet-wasm's page layout
 * and ZSTD: the heaviest step, measured) runs beside the main thread's COPY decoding and uploads,
 * and on several cores at once. Memory stays bounded: a thread handles one file at a time, callers bound
 * how many files they have in flight, and each thread's WASM memory is reused between files.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { inlineEncoder, type ParquetEncoder } from './encoder.js';
import { ipcBuffers } from './ipc-buffers.js';
import { ZSTD_LOCK } from './native-zstd.js';
import type { ParquetWriteOptions } from './writer-properties.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';

/**
 * Where a stream in one of the main thread's shared buffers (ipc-buffers.ts) is: the buffer itself
 * travels only with the first request that names it, later ones name its id.
 */
interface SharedIpc {
  readonly buffer: number;
  readonly bytes: number;
  readonly memory?: SharedArrayBuffer;
}

/** Message to an encoder thread: a file to encode. */
export interface EncodeRequest {
  readonly id: number;
  readonly ipc: Uint8Array | SharedIpc;
  readonly opts: ParquetWriteOptions;
}

/** Message to an encoder thread: the main thread let go of this shared buffer. */
export interface ForgetBuffer {
  readonly forget: number;
}

/** Message from an encoder thread: the file, or why it could not be written. */
export type EncodeReply =
  | { readonly id: number; readonly parquet: Uint8Array }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

/** Environment variable that sets the number of encoder threads of a worker process. */
export const ENCODER_THREADS_ENV = 'PG_PARQUET_ENCODER_THREADS';

/** Upper bound of the default thread count: more threads mostly add WASM memory. */
const MAX_DEFAULT_ENCODER_THREADS = 4;

/**
 * Thread count from `PG_PARQUET_ENCODER_THREADS`; by default one per core but one (which decodes
 * COPY and uploads), at most {@link MAX_DEFAULT_ENCODER_THREADS}, and 0 (encoding on the calling
 * thread) on one core. On 2 cores one thread makes the whole run faster for the same CPU (README,
 * "How extraction runs"); it became the default there once the decoder held one batch's buffers
 * per partition and the pool admitted only `threads + 1` files, which brought its peak RSS under
 * the inline encoder's of before.
 *
 * @throws RangeError when the variable is not a non-negative integer.
 */
export function encoderThreadsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  cores: number = availableParallelism(),
): number {
  const raw = env[ENCODER_THREADS_ENV];
  if (raw === undefined || raw === '') {
    return Math.min(Math.max(cores - 1, 0), MAX_DEFAULT_ENCODER_THREADS);
  }
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0 || n > 256) {
    throw new RangeError(
      `invalid ${ENCODER_THREADS_ENV} ${JSON.stringify(raw)}: expected an integer from 0 (encode on the main thread) to 256`,
    );
  }
  return n;
}

/**
 * Starts an encoder thread. From the compiled package the entry is `encode-worker.js`; from
 * source (tsx) the thread first registers tsx's loader itself, because Node 20 does not apply
 * the parent's `--import` hooks to a worker's entry module.
 */
function startEncoderThread(): Worker {
  const here = import.meta.url;
  // The thread shares the process-wide native ZSTD lock (see native-zstd.ts).
  const workerData = { zstdLock: ZSTD_LOCK };
  if (!here.endsWith('.ts')) return new Worker(new URL('./encode-worker.js', here), { workerData });
  const entry = new URL('./encode-worker.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** A request as the caller made it: its stream is sent by id at dispatch when it is a shared one. */
type JobRequest = Omit<EncodeRequest, 'ipc'> & { readonly ipc: Uint8Array };

interface Job {
  readonly request: JobRequest;
  readonly resolve: (parquet: Uint8Array) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
  /** Shared stream buffers this thread has been sent (later requests name them by id). */
  readonly buffers: Set<number>;
}

/** Error of a file the encoder thread could not write (or of a thread that died). */
export class ParquetEncodeError extends PgParquetError {
  constructor(message: string) {
    // Transient: a dead thread is replaced, and a closed pool belongs to a worker shutting down.
    super(ErrorType.EncodeFailed, message, true);
  }
}

/**
 * Encodes on up to `threads` worker threads, started on first use; a dead thread is replaced.
 * It admits `threads + 1` files at a time (see {@link admit}): one being encoded per thread and
 * one waiting, so a thread never idles between files, while the partitions of a worker, however
 * many, hold no more IPC streams than that (at 250k bench rows each is ~40 MB).
 */
export class ParquetEncoderPool implements ParquetEncoder {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  /** Files admitted and not yet settled, and the callers waiting for admission. */
  private admitted = 0;
  private readonly waiting: (() => void)[] = [];
  /** Stops telling this pool's threads which shared buffers to forget (see close). */
  private readonly stopForgetting: () => void;

  /**
   * @param threads the most threads at once.
   * @param prestart start them all now (each loads parquet-wasm, which takes a while), so that
   *   the first files do not wait for it; otherwise threads start on demand.
   */
  constructor(
    readonly threads: number,
    prestart = false,
  ) {
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new RangeError(`invalid encoder thread count ${String(threads)}: expected a positive integer`);
    }
    if (prestart) while (this.spawn()) continue;
    this.stopForgetting = ipcBuffers.onDrop((buffer) => {
      for (const slot of this.slots) {
        if (slot.buffers.delete(buffer)) slot.worker.postMessage({ forget: buffer } satisfies ForgetBuffer);
      }
    });
  }

  async admit(): Promise<() => void> {
    if (this.admitted >= this.threads + 1) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.admitted++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      // The slot passes straight to the next waiting caller, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.admitted--;
    };
  }

  encode(ipc: Uint8Array, opts: ParquetWriteOptions): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new ParquetEncodeError('the Parquet encoder pool is closed'));
    return new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, ipc, opts }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopForgetting();
    // Callers waiting for admission go on, and their encode is then refused as closed.
    for (const next of this.waiting.splice(0)) {
      this.admitted++;
      next();
    }
    for (const job of this.queue.splice(0))
      job.reject(new ParquetEncodeError('the Parquet encoder pool was closed'));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.job === undefined) ?? this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      // A thread is referenced only while it works, so an idle pool never keeps a process alive.
      slot.worker.ref();
      const { id, ipc, opts } = job.request;
      const shared = ipcBuffers.bufferOf(ipc);
      if (shared) {
        const known = slot.buffers.has(shared.id);
        slot.buffers.add(shared.id);
        const where: SharedIpc = {
          buffer: shared.id,
          bytes: ipc.byteLength,
          ...(known ? {} : { memory: shared.memory }),
        };
        slot.worker.postMessage({ id, ipc: where, opts } satisfies EncodeRequest);
      } else {
        const transferable = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength;
        slot.worker.postMessage(
          { id, ipc, opts } satisfies EncodeRequest,
          transferable ? [ipc.buffer as ArrayBuffer] : [],
        );
      }
    }
  }

  private spawn(): Slot | undefined {
    if (this.slots.length >= this.threads) return undefined;
    const worker = startEncoderThread();
    const slot: Slot = { worker, job: undefined, buffers: new Set() };
    worker.on('message', (reply: EncodeReply) => {
      const job = slot.job;
      slot.job = undefined;
      // The thread has read the stream (WASM holds its own copy): its buffer can take another.
      if (job) ipcBuffers.give(job.request.ipc);
      worker.unref();
      if (job && job.request.id === reply.id) {
        if ('parquet' in reply) job.resolve(reply.parquet);
        else
          job.reject(
            new ParquetEncodeError(`Parquet encoding failed: ${reply.error.name}: ${reply.error.message}`),
          );
      }
      this.dispatch();
    });
    const fail = (error: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      if (slot.job) ipcBuffers.give(slot.job.request.ipc);
      slot.job?.reject(new ParquetEncodeError(`Parquet encoder thread failed: ${error.message}`));
      slot.job = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

let shared: ParquetEncoder | undefined;

/**
 * The process-wide encoder, shared by every activity of a worker so the thread count bounds CPU
 * and WASM memory whatever the activity concurrency: a pool of {@link encoderThreadsFromEnv}
 * threads, or the inline encoder when that is 0.
 */
export function sharedEncoder(): ParquetEncoder {
  if (!shared) {
    const threads = encoderThreadsFromEnv();
    shared = threads === 0 ? inlineEncoder : new ParquetEncoderPool(threads, true);
  }
  return shared;
}
