/**
 * Arrow → Parquet through parquet-wasm, with the library's silent failure modes closed off
 * (see TECH-NOTES "parquet-wasm 0.8.0"):
 * - writer properties are consumed by use, and a reused object silently writes UNCOMPRESSED,
 *   so every file gets a freshly built properties chain (writer-properties.ts);
 * - the streaming writer drops batches of another schema, turns a failed input into a valid
 *   truncated file and throws on an empty input, so the stream wrapper checks schemas itself,
 *   rethrows producer errors before the footer can reach the consumer, and writes empty
 *   inputs with the one-shot writer.
 *
 * The output is deterministic: parquet-rs writes no timestamp, and `created_by` is the fixed
 * string of the bundled parquet-rs version, so the same batches give byte-identical files
 * (which is what makes a retried batch idempotent).
 */
import { Table, util, type RecordBatch, type Schema } from 'apache-arrow';
import type * as wasm from 'parquet-wasm';
import { parquetWasm } from './parquet-wasm.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { ipcBuffers } from './ipc-buffers.js';
import { checkWriteOptions, writerProperties, type ParquetWriteOptions } from './writer-properties.js';
import { ParquetFormatError } from './format-error.js';
import { logicalTypeAnnotations } from './logical-type-annotations.js';
import { annotateLogicalTypes, type LogicalTypeAnnotation } from './logical-types.js';

// The writer's options are part of its signatures: callers of the writer import them from here.
export type { ParquetWriteOptions } from './writer-properties.js';

/** Throws unless `actual` has the same field names, order, types and nullability as `expected`. */
function assertSameSchema(expected: Schema, actual: Schema, what: string): void {
  if (!util.compareSchemas(expected, actual)) {
    throw new SchemaMismatchError(
      `${what} has schema ${describeSchema(actual)}, expected ${describeSchema(expected)}; ` +
        'refusing to write it (parquet-wasm would silently drop such a batch)',
    );
  }
}

/** A batch whose schema differs from the file's schema was given to a writer. */
export class SchemaMismatchError extends PgParquetError {
  constructor(message: string) {
    super(ErrorType.SchemaMismatch, message, false);
  }
}

function describeSchema(schema: Schema): string {
  return `{ ${schema.fields.map((f) => `${f.name}: ${String(f.type)}${f.nullable ? '' : ' not null'}`).join(', ')} }`;
}

/**
 * Arrow JS → WASM Arrow through the IPC stream format, always under `schema` itself: the IPC
 * stream carries the schema once, so the WASM side sees exactly the file's schema (metadata
 * included) whatever schema object the batch points to.
 */
function toWasmTable(schema: Schema, batches: readonly RecordBatch[]): wasm.Table {
  const ipc = ipcBuffers.write(schema, batches);
  try {
    return parquetWasm().Table.fromIPCStream(ipc);
  } finally {
    ipcBuffers.give(ipc);
  }
}

/**
 * Writes one Parquet file from in-memory Arrow batches (one extraction batch: small or medium).
 * Zero batches or zero rows give a valid file that holds only the schema.
 *
 * @throws SchemaMismatchError when a batch (or the table) does not have `schema`.
 */
export function writeParquetFile(
  batches: readonly RecordBatch[] | Table,
  schema: Schema,
  opts: ParquetWriteOptions,
): Uint8Array {
  const list: readonly RecordBatch[] = batches instanceof Table ? batches.batches : batches;
  if (batches instanceof Table) assertSameSchema(schema, batches.schema, 'the table');
  list.forEach((b, i) => assertSameSchema(schema, b.schema, `batch ${i}`));
  const props = writerProperties(opts);
  // writeParquet consumes both the table and the properties (their WASM memory is released).
  const file = parquetWasm().writeParquet(toWasmTable(schema, list), props);
  return annotateLogicalTypes(file, opts.logicalTypes ?? logicalTypeAnnotations(schema));
}

/**
 * Serializes batches (all of `schema`) to one Arrow IPC stream: the hand-off format of
 * `encodeParquetIpc` (encode-ipc.ts), and cheap to move to another thread (one transferable
 * buffer). The stream is in a buffer of the thread's {@link ipcBuffers}, which the encoders give
 * back.
 *
 * @throws SchemaMismatchError when a batch does not have `schema`.
 */
export function toIpcStream(schema: Schema, batches: readonly RecordBatch[]): Uint8Array {
  batches.forEach((b, i) => assertSameSchema(schema, b.schema, `batch ${i}`));
  return ipcBuffers.write(schema, batches);
}

/**
 * The last chunk of a streamed file with `annotations` written into its footer. parquet-wasm
 * writes the footer (with the page indexes before it) as one chunk when the file closes; a
 * chunk that does not hold the whole footer is refused rather than written unannotated.
 */
function annotateTail(chunk: Uint8Array, annotations: readonly LogicalTypeAnnotation[]): Uint8Array {
  const n = chunk.byteLength;
  const footerLength = n >= 8 ? new DataView(chunk.buffer, chunk.byteOffset, n).getUint32(n - 8, true) : n;
  if (footerLength + 8 > n) {
    throw new ParquetFormatError(
      `the streamed Parquet file's last chunk (${n} bytes) does not hold its footer: cannot write its logical types`,
    );
  }
  // annotateLogicalTypes wants a whole file: give it the footer behind a PAR1 and splice it back.
  const start = n - 8 - footerLength;
  const head = new Uint8Array([0x50, 0x41, 0x52, 0x31]);
  const fake = new Uint8Array(4 + footerLength + 8);
  fake.set(head, 0);
  fake.set(chunk.subarray(start), 4);
  const annotated = annotateLogicalTypes(fake, annotations);
  const out = new Uint8Array(start + annotated.byteLength - 4);
  out.set(chunk.subarray(0, start), 0);
  out.set(annotated.subarray(4), start);
  return out;
}

/** A running streaming write: iterate it (once) for the file's bytes. */
export interface ParquetStream extends AsyncIterable<Uint8Array> {
  /** The Parquet bytes, one chunk per row group or so, then the footer. Single use. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Rows handed to the encoder so far; final once `chunks` has ended without an error. */
  rowsWritten(): number;
  /** Parquet bytes produced so far. */
  bytesWritten(): number;
}

/**
 * Streams a Parquet file of any size from an async iterable of Arrow batches, with memory
 * bounded by the row group size (`transformParquetStream`).
 *
 * - A producer error is rethrown from the output iterable, before the footer is yielded, so
 *   a consumer never receives a complete-looking truncated file.
 * - A batch whose schema is not `schema` makes the output throw {@link SchemaMismatchError}.
 * - If the consumer stops early, the encoder's input is closed (parquet-wasm would otherwise
 *   drain the whole producer) and the producer's `return()` is called.
 * - An input without rows gives a zero-row file.
 */
export function createParquetStream(
  schema: Schema,
  batches: AsyncIterable<RecordBatch>,
  opts: ParquetWriteOptions,
): ParquetStream {
  checkWriteOptions(opts);
  let rows = 0;
  let bytes = 0;
  let started = false;

  async function* run(): AsyncGenerator<Uint8Array> {
    if (started) throw new Error('a ParquetStream can be iterated only once');
    started = true;
    const source = batches[Symbol.asyncIterator]();
    let sourceDone = false;
    // Set from inside pull(); a holder object keeps TypeScript from narrowing it to undefined.
    const state: { failure?: { readonly error: unknown } } = {};
    const throwIfFailed = (): void => {
      if (state.failure) throw state.failure.error;
    };
    let stopped = false;

    /** Next batch with rows; zero-row batches add nothing and would only cost an IPC round trip. */
    const nextBatch = async (): Promise<RecordBatch | undefined> => {
      for (;;) {
        let r: IteratorResult<RecordBatch>;
        try {
          r = await source.next();
        } catch (err) {
          sourceDone = true;
          throw err;
        }
        if (r.done) {
          sourceDone = true;
          return undefined;
        }
        assertSameSchema(schema, r.value.schema, `batch ${rows === 0 ? 'at row 0' : `after row ${rows}`}`);
        if (r.value.numRows > 0) return r.value;
      }
    };

    try {
      // parquet-wasm throws on an empty stream, so look before starting it.
      const first = await nextBatch();
      if (!first) {
        const file = writeParquetFile([], schema, opts);
        bytes += file.byteLength;
        yield file;
        return;
      }

      let pending: RecordBatch | undefined = first;
      const input = new ReadableStream<wasm.RecordBatch>(
        {
          pull: async (controller) => {
            if (stopped) {
              controller.error(new Error('parquet stream stopped by its consumer'));
              return;
            }
            try {
              // Encoding runs on this thread: give timers (heartbeats) a turn between batches.
              await new Promise<void>((resolve) => setImmediate(resolve));
              const batch = pending ?? (await nextBatch());
              pending = undefined;
              if (stopped) {
                controller.error(new Error('parquet stream stopped by its consumer'));
                return;
              }
              if (!batch) {
                controller.close();
                return;
              }
              const table = toWasmTable(schema, [batch]);
              try {
                for (const b of table.recordBatches()) controller.enqueue(b);
              } finally {
                table.free();
              }
              rows += batch.numRows;
            } catch (error) {
              state.failure ??= { error };
              // parquet-wasm treats an errored input as the end and still writes a footer:
              // `state.failure` is what keeps that footer from reaching the consumer.
              controller.error(error);
            }
          },
        },
        { highWaterMark: 0 },
      );

      const output = (await parquetWasm().transformParquetStream(
        input,
        writerProperties(opts),
      )) as ReadableStream<unknown>;
      const reader = output.getReader();
      // With logical types to write, the last chunk is held back: it ends with the footer.
      const annotations = opts.logicalTypes ?? logicalTypeAnnotations(schema);
      let held: Uint8Array | undefined;
      try {
        for (;;) {
          throwIfFailed();
          const { done, value } = await reader.read();
          throwIfFailed();
          if (done) break;
          if (!(value instanceof Uint8Array)) throw new TypeError('parquet-wasm produced a non-byte chunk');
          if (annotations.length === 0) {
            bytes += value.byteLength;
            yield value;
            continue;
          }
          if (held) {
            bytes += held.byteLength;
            yield held;
          }
          held = value;
        }
        if (held) {
          const last = annotateTail(held, annotations);
          bytes += last.byteLength;
          yield last;
        }
      } finally {
        stopped = true;
        // Only reached early on errors or consumer exit; after a clean end this is a no-op.
        await reader.cancel().catch(() => undefined);
        reader.releaseLock();
      }
    } finally {
      stopped = true;
      // Release the producer (e.g. a COPY stream) when we stop before it is exhausted.
      if (!sourceDone) await source.return?.().catch(() => undefined);
    }
  }

  const chunks: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => run() };
  return {
    chunks,
    [Symbol.asyncIterator]: () => run(),
    rowsWritten: () => rows,
    bytesWritten: () => bytes,
  };
}
