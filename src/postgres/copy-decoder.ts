/**
 * Streaming decoder of PostgreSQL's binary COPY format straight into Arrow RecordBatches: the
 * entry module, which cuts rows into batches and labels them. Its parts, split as node-postgres
 * splits pg-protocol:
 * - copy-framing.ts: the stream's framing (header, rows, field lengths, chunks that cut rows);
 * - copy-values.ts and copy-numeric.ts: what one field's bytes mean, per type;
 * - ../arrow/column-buffers.ts: the Arrow buffers the values go into, and their reuse;
 * - copy-cursor.ts: cursor values of a batch's rows; copy-errors.ts: the errors.
 */
import { Schema, type RecordBatch } from 'apache-arrow';
import type { ColumnSpec } from '../arrow/column-spec.js';
import type { TypeOptions } from '../contract/type-options.js';
import { arrowField } from '../arrow/type-map.js';
import { BatchColumns, type Column } from '../arrow/column-buffers.js';
import { metadataFields, type MetadataColumns } from '../arrow/transforms.js';
import { CopyFormatError, UnsupportedValueError, type ValueProblem } from './copy-errors.js';
import { cursorAt, rawCursorText } from './copy-cursor.js';
import { CopyFraming, type RowSink } from './copy-framing.js';

// The decoder's public vocabulary lives in its parts; this entry module is where users import it.
export { CopyFormatError, UnsupportedValueError } from './copy-errors.js';

/** One decoded batch and what the exporter records about it. */
export interface DecodedBatch {
  readonly batch: RecordBatch;
  readonly rows: number;
  /** Sum of the byte lengths of the batch's non-NULL fields on the wire: a size estimate. */
  readonly bytes: number;
  /**
   * The cursor column's value in the batch's first and last row, in the cursor's integer form
   * (see src/postgres/cursor-kind.ts): integers as decimal strings, dates as days since
   * 1970-01-01, timestamps (with or without time zone) as microseconds since 1970-01-01 UTC,
   * whatever `timestampUnit` is. Null when the value is NULL, when there is no cursor column, or
   * when the cursor column is of another type.
   */
  readonly cursorFirst: string | null;
  readonly cursorLast: string | null;
}

/** How the decoder cuts and labels batches. */
export interface DecoderOptions {
  /** A batch is cut when it holds this many rows… */
  readonly batchRows: number;
  /** …or when its field bytes reach this many, whichever comes first. */
  readonly batchBytes: number;
  /** Index of the cursor column in the specs, or -1. */
  readonly cursorColumn: number;
  readonly typeOptions: TypeOptions;
  /** `schema.table`, for error messages. */
  readonly table: string;
  /**
   * Per-run constant columns (`_extracted_at`, `_extraction_id`) that every batch carries after
   * the specs' columns, so a batch leaves the decoder in its final schema. None when omitted.
   */
  readonly metadata?: MetadataColumns;
}

/**
 * Streaming binary COPY → Arrow RecordBatch decoder. Feed it chunks with {@link push}, collect
 * the batches it returns, then call {@link finish} once for the last partial batch. Any error
 * leaves the decoder failed: later calls throw the same error.
 */
export class CopyBinaryDecoder {
  /** The Arrow schema of every batch: one field per spec, in order, then the metadata columns. */
  readonly schema: Schema;
  private readonly framing: CopyFraming;
  private readonly batches: BatchCutter;
  private finished = false;
  private failed: Error | undefined = undefined;

  constructor(specs: readonly ColumnSpec[], opts: DecoderOptions) {
    if (!(opts.batchRows >= 1) || !(opts.batchBytes >= 1)) {
      throw new RangeError(
        `batchRows and batchBytes must be positive (got ${opts.batchRows}, ${opts.batchBytes})`,
      );
    }
    if (opts.cursorColumn >= specs.length)
      throw new RangeError(`cursorColumn ${opts.cursorColumn} out of range`);
    const metadata = opts.metadata === undefined ? [] : metadataFields(opts.metadata);
    this.schema = new Schema([...specs.map((s) => arrowField(s, opts.typeOptions)), ...metadata]);
    if (specs.length === 0) throw new RangeError('no columns to decode');
    this.framing = new CopyFraming(specs.length);
    const buffers = new BatchColumns(specs, this.schema, opts.typeOptions, opts.batchRows, opts.metadata);
    this.batches = new BatchCutter(specs, opts, buffers);
  }

  /** Rows decoded so far, in all batches (returned or still being built). */
  get rowsDecoded(): number {
    return this.batches.total;
  }

  /**
   * Tells the decoder that `batch` is no longer used (its data was copied, e.g. serialized to IPC):
   * a later batch is then built in its buffers instead of new ones, which keeps allocation and
   * garbage-collection pressure at one batch. Using `batch` after releasing it reads other rows.
   */
  release(batch: DecodedBatch): void {
    this.batches.release(batch);
  }

  /**
   * Frees the column buffers now rather than at a full garbage collection (see
   * src/arrow/release-buffer.ts) when every batch returned has been released; otherwise leaves
   * them to the collector, as a batch still in use reads them. The decoder cannot be used after.
   */
  dispose(): void {
    this.failed ??= new CopyFormatError('the decoder was disposed');
    this.batches.dispose();
  }

  /** Feeds a chunk (any size, any boundary); returns the batches it completed, in order. */
  push(chunk: Uint8Array): DecodedBatch[] {
    return [...this.decode(chunk)];
  }

  /**
   * Feeds a chunk like {@link push}, but yields each batch the moment it is cut and goes on with
   * the rest of the chunk only when asked for the next: a batch {@link release}d by then lends
   * its buffers to the next one, so the decoder holds one batch's buffers instead of two (~45 MB
   * per partition at 250k bench rows). Iterate it to the end: the rest of the chunk is decoded
   * only by asking for more.
   */
  *decode(chunk: Uint8Array): Generator<DecodedBatch, void, undefined> {
    if (this.failed !== undefined) throw this.failed;
    if (this.finished) throw new CopyFormatError('push() after finish()');
    let from = 0;
    while (from >= 0) {
      let cut: DecodedBatch | undefined;
      try {
        from = this.framing.push(chunk, this.batches, from);
        cut = this.batches.takeCut();
      } catch (err) {
        this.failed = err instanceof Error ? err : new Error(String(err));
        throw err;
      }
      if (cut) yield cut;
    }
  }

  /**
   * Ends the stream: returns the last partial batch, or null when there is none. Throws a
   * {@link CopyFormatError} when the stream was cut short (no header, no trailer, or an
   * unfinished row) or bytes follow the trailer.
   */
  finish(): DecodedBatch | null {
    if (this.failed !== undefined) throw this.failed;
    if (this.finished) throw new CopyFormatError('finish() called twice');
    this.finished = true;
    try {
      this.framing.finish();
      return this.batches.rows > 0 ? this.batches.cut() : null;
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }
}

/**
 * The decoder's row sink: counts the rows and field bytes of the batch being built, cuts it at
 * the limits, labels each batch with its cursor span, and knows which columns each batch holds
 * until it is released.
 */
class BatchCutter implements RowSink {
  /** Rows and field bytes of the batch being built. */
  rows = 0;
  bytes = 0;
  /** Rows of all batches. */
  total = 0;
  private readonly batchRows: number;
  private readonly batchBytes: number;
  /** The batch the last row cut, until {@link takeCut} (the framing pauses after each cut). */
  private pending: DecodedBatch | undefined;
  /**
   * The columns behind each returned batch, until the caller releases it: while any is here, the
   * columns must not be freed (see {@link dispose}).
   */
  private readonly owners = new Map<DecodedBatch, Column[]>();

  constructor(
    private readonly specs: readonly ColumnSpec[],
    private readonly opts: DecoderOptions,
    private readonly buffers: BatchColumns,
  ) {
    this.batchRows = opts.batchRows;
    this.batchBytes = opts.batchBytes;
  }

  get columns(): readonly Column[] {
    return this.buffers.columns;
  }

  endRow(fieldBytes: number): boolean {
    this.bytes += fieldBytes;
    this.total++;
    if (++this.rows < this.batchRows && this.bytes < this.batchBytes) return false;
    if (this.pending) throw new Error('internal: a batch was cut before the previous one was taken');
    this.pending = this.cut();
    return true;
  }

  /** The batch being built, as a {@link DecodedBatch}; the next one starts empty. */
  cut(): DecodedBatch {
    const rows = this.rows;
    const bytes = this.bytes;
    const { batch, columns } = this.buffers.cut(rows);
    const ci = this.opts.cursorColumn;
    const cursor = ci >= 0 ? columns[ci] : undefined;
    const cursorFirst = cursor ? cursorAt(cursor, 0) : null;
    const cursorLast = cursor ? cursorAt(cursor, rows - 1) : null;
    this.rows = 0;
    this.bytes = 0;
    const decoded = { batch, rows, bytes, cursorFirst, cursorLast };
    this.owners.set(decoded, columns);
    return decoded;
  }

  /** The batch cut since the last call, if any. */
  takeCut(): DecodedBatch | undefined {
    const out = this.pending;
    this.pending = undefined;
    return out;
  }

  /** See {@link CopyBinaryDecoder.release}. */
  release(batch: DecodedBatch): void {
    const columns = this.owners.get(batch);
    if (!columns) return;
    this.owners.delete(batch);
    this.buffers.release(columns);
  }

  /** See {@link CopyBinaryDecoder.dispose}. */
  dispose(): void {
    if (this.owners.size === 0) this.buffers.dispose();
  }

  /** The typed error for a value of column `c` in the (complete) row starting at `rowStart`. */
  valueError(problem: ValueProblem, c: number, view: DataView, rowStart: number): UnsupportedValueError {
    const spec = this.specs[c]!;
    let cursor: string | null = null;
    const ci = this.opts.cursorColumn;
    if (ci >= 0) {
      let q = rowStart + 2;
      for (let i = 0; i < ci; i++) q += 4 + Math.max(0, view.getInt32(q));
      const len = view.getInt32(q);
      if (len >= 0) cursor = rawCursorText(this.specs[ci]!.kind, view, q + 4, len);
    }
    return new UnsupportedValueError(
      this.opts.table,
      spec.name,
      spec.pgType,
      problem.value,
      cursor,
      problem.option,
    );
  }
}
