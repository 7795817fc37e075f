/**
 * Arrow → Parquet through parquet-wasm, with the library's silent failure modes closed off
 * (see TECH-NOTES "parquet-wasm 0.8.0"):
 * - writer properties are consumed by use, and a reused object silently writes UNCOMPRESSED,
 *   so every file gets a freshly built properties chain;
 * - the streaming writer drops batches of another schema, turns a failed input into a valid
 *   truncated file and throws on an empty input, so the stream wrapper checks schemas itself,
 *   rethrows producer errors before the footer can reach the consumer, and writes empty
 *   inputs with the one-shot writer.
 *
 * The output is deterministic: parquet-rs writes no timestamp, and `created_by` is the fixed
 * string of the bundled parquet-rs version, so the same batches give byte-identical files
 * (which is what makes a retried batch idempotent).
 */
import { Table, tableFromIPC, tableToIPC, util, type RecordBatch, type Schema } from 'apache-arrow';
import * as wasm from 'parquet-wasm';
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** Compression codecs offered to users. `lz4` is written as LZ4_RAW (the non-deprecated framing). */
export type ParquetCompression = 'zstd' | 'snappy' | 'gzip' | 'brotli' | 'lz4' | 'uncompressed';

/** How Parquet files are written. */
export interface ParquetWriteOptions {
  readonly compression: ParquetCompression;
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
}

/** The default codec: the best ratio with fast decoding in every mainstream reader. */
export const DEFAULT_COMPRESSION: ParquetCompression = 'zstd';

/** Every accepted value of {@link ParquetWriteOptions.compression}. */
export const COMPRESSIONS: readonly ParquetCompression[] = [
  'zstd',
  'snappy',
  'gzip',
  'brotli',
  'lz4',
  'uncompressed',
];

const CODEC: Record<ParquetCompression, wasm.Compression> = {
  zstd: wasm.Compression.ZSTD,
  snappy: wasm.Compression.SNAPPY,
  gzip: wasm.Compression.GZIP,
  brotli: wasm.Compression.BROTLI,
  lz4: wasm.Compression.LZ4_RAW,
  uncompressed: wasm.Compression.UNCOMPRESSED,
};

/**
 * Builds a fresh properties object for exactly one write. Never cache the result: parquet-wasm
 * takes ownership of it, and a second use silently falls back to the defaults.
 */
function writerProperties(opts: ParquetWriteOptions): wasm.WriterProperties {
  checkOptions(opts);
  let builder = new wasm.WriterPropertiesBuilder()
    .setCompression(CODEC[opts.compression])
    .setMaxRowGroupSize(opts.rowGroupRows);
  const entries = Object.entries(opts.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length > 0) builder = builder.setKeyValueMetadata(new Map(entries));
  for (const column of opts.noDictionary ?? []) builder = builder.setColumnDictionaryEnabled(column, false);
  if (opts.dataPageVersion === 2) builder = builder.setWriterVersion(wasm.WriterVersion.V2);
  return builder.build();
}

function checkOptions(opts: ParquetWriteOptions): void {
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
  return wasm.Table.fromIPCStream(tableToIPC(new Table(schema, [...batches]), 'stream'));
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
  return wasm.writeParquet(toWasmTable(schema, list), props);
}

/**
 * Serializes batches (all of `schema`) to one Arrow IPC stream: the hand-off format of
 * {@link encodeParquetIpc}, and cheap to move to another thread (one transferable buffer).
 *
 * @throws SchemaMismatchError when a batch does not have `schema`.
 */
export function toIpcStream(schema: Schema, batches: readonly RecordBatch[]): Uint8Array {
  batches.forEach((b, i) => assertSameSchema(schema, b.schema, `batch ${i}`));
  return tableToIPC(new Table(schema, [...batches]), 'stream');
}

/**
 * Writes one Parquet file from an Arrow IPC stream made by {@link toIpcStream}. This is the
 * CPU-heavy step (compression runs in WASM), which is why it takes plain bytes: it can run on a
 * worker thread (see encoder-pool.ts).
 */
export function encodeParquetIpc(ipc: Uint8Array, opts: ParquetWriteOptions): Uint8Array {
  const props = writerProperties(opts);
  return wasm.writeParquet(wasm.Table.fromIPCStream(ipc), props);
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
  checkOptions(opts);
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

      const output = (await wasm.transformParquetStream(
        input,
        writerProperties(opts),
      )) as ReadableStream<unknown>;
      const reader = output.getReader();
      try {
        for (;;) {
          throwIfFailed();
          const { done, value } = await reader.read();
          throwIfFailed();
          if (done) break;
          if (!(value instanceof Uint8Array)) throw new TypeError('parquet-wasm produced a non-byte chunk');
          bytes += value.byteLength;
          yield value;
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

/** What a Parquet file's footer says. */
export interface ParquetFileInfo {
  /** Total rows per the footer (checked against the sum of the row groups' rows). */
  readonly rows: number;
  readonly rowGroups: number;
  readonly rowGroupRows: readonly number[];
  /** The Arrow schema (from the `ARROW:schema` entry, or derived by parquet-wasm without it). */
  readonly schema: Schema;
  /** Distinct codecs of the column chunks, e.g. `['ZSTD']`. */
  readonly codecs: readonly string[];
  readonly createdBy: string | undefined;
  /** File key/value metadata except `ARROW:schema`. */
  readonly keyValueMetadata: Readonly<Record<string, string>>;
}

/**
 * Reads the footer of a Parquet file held in memory, synchronously and without copying the
 * file into WASM memory (which never shrinks): used to check that a stored file holds the
 * row count that was decoded from the source.
 *
 * @throws ParquetFormatError when the bytes are not a Parquet file.
 */
export function readParquetMetadata(bytes: Uint8Array): ParquetFileInfo {
  const footer = readFooter(bytes);
  const kv = new Map(footer.keyValue);
  const arrowSchema = kv.get('ARROW:schema');
  kv.delete('ARROW:schema');
  let schema: Schema;
  if (arrowSchema !== undefined) {
    schema = tableFromIPC(Buffer.from(arrowSchema, 'base64')).schema;
  } else {
    // Files from other writers: let parquet-rs derive the Arrow schema (copies the file).
    schema = tableFromIPC(wasm.readSchema(bytes).intoIPCStream()).schema;
  }
  return {
    rows: footer.numRows,
    rowGroups: footer.rowGroupRows.length,
    rowGroupRows: footer.rowGroupRows,
    schema,
    codecs: footer.codecs,
    createdBy: footer.createdBy,
    keyValueMetadata: Object.fromEntries(kv),
  };
}

/**
 * The same information through parquet-wasm's own metadata API, from a Blob (e.g.
 * `fs.openAsBlob(path)`): only the footer is read, so it suits large files on disk.
 */
export async function readParquetMetadataFromBlob(blob: Blob): Promise<ParquetFileInfo> {
  const file = await wasm.ParquetFile.fromFile(blob);
  try {
    const meta = file.metadata();
    const fileMeta = meta.fileMetadata();
    const rowGroupRows: number[] = [];
    const codecs = new Set<string>();
    for (let i = 0; i < meta.numRowGroups(); i++) {
      const rg = meta.rowGroup(i);
      rowGroupRows.push(rg.numRows());
      for (const col of rg.columns()) {
        codecs.add(wasm.Compression[col.compression()]);
        col.free();
      }
      rg.free();
    }
    const kv = new Map<string, string>();
    for (const [k, v] of fileMeta.keyValueMetadata() as Map<unknown, unknown>) {
      if (typeof k === 'string' && k !== 'ARROW:schema') kv.set(k, typeof v === 'string' ? v : '');
    }
    const info: ParquetFileInfo = {
      rows: fileMeta.numRows(),
      rowGroups: rowGroupRows.length,
      rowGroupRows,
      schema: tableFromIPC(file.schema().intoIPCStream()).schema,
      codecs: [...codecs].sort(),
      createdBy: fileMeta.createdBy(),
      keyValueMetadata: Object.fromEntries(kv),
    };
    fileMeta.free();
    meta.free();
    return info;
  } finally {
    file.free();
  }
}

/** The bytes are not a (complete) Parquet file. */
export class ParquetFormatError extends PgParquetError {
  constructor(message: string) {
    // Terminal: stored objects are written whole, so a file that is not Parquet stays so.
    super(ErrorType.ParquetFormat, message, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Footer reader: the Thrift compact protocol, only as far as FileMetaData needs it. parquet-wasm
// has no synchronous metadata API, and its readers would copy the whole file into WASM memory.

/** Parquet's CompressionCodec enum (parquet.thrift), which differs from parquet-wasm's. */
const THRIFT_CODECS = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'];
const MAGIC = 0x31524150; // "PAR1" little-endian

interface Footer {
  numRows: number;
  rowGroupRows: number[];
  codecs: string[];
  keyValue: [string, string][];
  createdBy: string | undefined;
}

function readFooter(bytes: Uint8Array): Footer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  if (n < 12 || view.getUint32(0, true) !== MAGIC || view.getUint32(n - 4, true) !== MAGIC) {
    throw new ParquetFormatError(`not a Parquet file (${n} bytes, no PAR1 magic at both ends)`);
  }
  const len = view.getUint32(n - 8, true);
  if (len + 12 > n) throw new ParquetFormatError(`Parquet footer length ${len} exceeds the file size ${n}`);
  const r = new CompactReader(bytes.subarray(n - 8 - len, n - 8));
  const out: Footer = { numRows: -1, rowGroupRows: [], codecs: [], keyValue: [], createdBy: undefined };
  const codecs = new Set<string>();
  r.struct((id, type) => {
    if (id === 3 && type === T.I64) out.numRows = r.int();
    else if (id === 4 && type === T.LIST) {
      r.list(() => out.rowGroupRows.push(readRowGroup(r, codecs)));
    } else if (id === 5 && type === T.LIST) {
      r.list(() => {
        let key = '';
        let value = '';
        r.struct((fid, ft) => {
          if (fid === 1 && ft === T.BINARY) key = r.string();
          else if (fid === 2 && ft === T.BINARY) value = r.string();
          else r.skip(ft);
        });
        out.keyValue.push([key, value]);
      });
    } else if (id === 6 && type === T.BINARY) out.createdBy = r.string();
    else r.skip(type);
  });
  if (out.numRows < 0) throw new ParquetFormatError('Parquet footer has no num_rows');
  const sum = out.rowGroupRows.reduce((a, b) => a + b, 0);
  if (sum !== out.numRows) {
    throw new ParquetFormatError(`Parquet footer says ${out.numRows} rows but its row groups hold ${sum}`);
  }
  out.codecs = [...codecs].sort();
  return out;
}

function readRowGroup(r: CompactReader, codecs: Set<string>): number {
  let rows = -1;
  r.struct((id, type) => {
    if (id === 1 && type === T.LIST) {
      r.list(() =>
        r.struct((cid, ctype) => {
          if (cid === 3 && ctype === T.STRUCT) {
            r.struct((mid, mtype) => {
              if (mid === 4 && mtype === T.I32) {
                const codec = r.int();
                codecs.add(THRIFT_CODECS[codec] ?? `CODEC_${codec}`);
              } else r.skip(mtype);
            });
          } else r.skip(ctype);
        }),
      );
    } else if (id === 3 && type === T.I64) rows = r.int();
    else r.skip(type);
  });
  if (rows < 0) throw new ParquetFormatError('Parquet row group without num_rows');
  return rows;
}

/** Thrift compact protocol type ids. */
const T = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

class CompactReader {
  private pos = 0;
  private readonly decoder = new TextDecoder();

  constructor(private readonly buf: Uint8Array) {}

  private byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new ParquetFormatError('truncated Parquet footer');
    return b;
  }

  private varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new ParquetFormatError('bad varint in Parquet footer');
    }
  }

  /** A zigzag-encoded i16/i32/i64 as a number (row counts stay far below 2^53). */
  int(): number {
    const z = this.varint();
    return Number((z >> 1n) ^ -(z & 1n));
  }

  private length(): number {
    const n = Number(this.varint());
    if (n > this.buf.length - this.pos) throw new ParquetFormatError('truncated Parquet footer');
    return n;
  }

  string(): string {
    const n = this.length();
    const s = this.decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  /** Calls `field` for each field header; `field` must consume the value (or skip it). */
  struct(field: (id: number, type: number) => void): void {
    let last = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === 0) return;
      const delta = header >> 4;
      const id = delta === 0 ? this.int() : last + delta;
      last = id;
      field(id, type);
    }
  }

  /** Calls `element` (which must consume it) for each element of a list or set. */
  list(element: (type: number) => void): void {
    const header = this.byte();
    let size = header >> 4;
    const type = header & 0x0f;
    if (size === 15) size = Number(this.varint());
    for (let i = 0; i < size; i++) element(type);
  }

  skip(type: number): void {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        return; // the value is in the field header
      case T.BYTE:
        this.pos += 1;
        return;
      case T.I16:
      case T.I32:
      case T.I64:
        this.varint();
        return;
      case T.DOUBLE:
        this.pos += 8;
        return;
      case T.UUID:
        this.pos += 16;
        return;
      case T.BINARY: {
        const n = this.length(); // not `pos += length()`: that would read pos before the varint
        this.pos += n;
        return;
      }
      case T.LIST:
      case T.SET:
        this.list((t) => this.skipElement(t));
        return;
      case T.MAP: {
        const size = Number(this.varint());
        if (size === 0) return;
        const kinds = this.byte();
        for (let i = 0; i < size; i++) {
          this.skipElement(kinds >> 4);
          this.skipElement(kinds & 0x0f);
        }
        return;
      }
      case T.STRUCT:
        this.struct((_id, t) => this.skip(t));
        return;
      default:
        throw new ParquetFormatError(`unknown Thrift type ${type} in Parquet footer`);
    }
  }

  /** Booleans inside containers take one byte, unlike boolean fields. */
  private skipElement(type: number): void {
    if (type === T.TRUE || type === T.FALSE) this.byte();
    else this.skip(type);
  }
}
