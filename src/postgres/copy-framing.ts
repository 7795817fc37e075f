/**
 * The framing of PostgreSQL's binary COPY stream: signature and header, then per row a field
 * count and per field a length and its bytes, then the trailer. All big-endian: an 11-byte
 * signature, int32 flags, int32 header-extension length and the extension; per row an int16 field
 * count, then per field an int32 length (-1 = NULL) and the bytes; an int16 -1 ends the data.
 *
 * Chunks arrive at arbitrary boundaries: headers, fields and rows straddle them. Rows are decoded
 * in place from the chunk into the sink's columns; when a row turns out to be cut by the end of
 * the chunk, what was appended for it is rolled back and only that tail is kept as a carry. The
 * next chunk first tops the carry up with exactly the bytes the straddling row still needs (its
 * field lengths tell how many), decodes it, and continues in place. So every byte is read once
 * from its chunk, and only the bytes of straddling rows are copied twice.
 */
import * as buffers from '../arrow/column-buffers.js';
import type { Column } from '../arrow/column-buffers.js';
import { CopyFormatError, ValueProblem } from './copy-errors.js';
import * as values from './copy-values.js';

// Module-local bindings of the functions the row loop calls per field: V8 treats a module's own
// constants as known call targets, an imported binding is loaded at every call (see copy-values.ts).
const { appendNull, truncate } = buffers;
const { appendValue } = values;

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER_BYTES = 19;
/** Header flag bit 16: every row carries an OID field (only for tables WITH OIDS, gone since 12). */
const FLAG_OIDS = 1 << 16;
/** A carry larger than this is released once its row is decoded. */
const CARRY_KEEP = 1 << 16;

/** Where decoded rows go: the columns of the batch being built, and what ends a row. */
export interface RowSink {
  /** One column per field; other columns after {@link endRow} has cut a batch. */
  readonly columns: readonly Column[];
  /** Counts a complete row of `fieldBytes` non-NULL field bytes; true when that cut the batch (decoding then pauses). */
  endRow(fieldBytes: number): boolean;
  /**
   * The error to throw for `problem`, found in column `column` of the complete row that starts at
   * `rowStart` of `view` (read the row's cursor value from there, during the call only).
   */
  valueError(problem: ValueProblem, column: number, view: DataView, rowStart: number): Error;
}

/**
 * The binary COPY framing state machine of one stream: feed it every chunk with {@link push},
 * then call {@link finish} once. It decodes each complete row into a {@link RowSink}.
 */
export class CopyFraming {
  private headerDone = false;
  private ended = false;
  /** The unfinished unit (header, row or trailer) that straddles chunks. */
  private carry: Uint8Array = new Uint8Array(256);
  private carryView = new DataView(this.carry.buffer);
  private carryLen = 0;
  /** How far the straddling row's field lengths have been checked (field index and position). */
  private walkField = -1;
  private walkPos = 0;
  /** Set when the last decode stopped because its row cut a batch. */
  private cutPending = false;

  constructor(
    /** Fields every row must have. */
    private readonly ncols: number,
  ) {}

  /**
   * Decodes the complete rows of `chunk` from `from` on (with the carry before it) into `sink`,
   * up to the first row that cuts a batch ({@link RowSink.endRow}). Returns where the rest of
   * the chunk starts, to be pushed again once the batch is dealt with, or -1 when the chunk is
   * used up (its incomplete tail kept as the carry).
   */
  push(chunk: Uint8Array, sink: RowSink, from = 0): number {
    const n = chunk.length;
    if (from >= n) return -1;
    if (this.ended) throw new CopyFormatError('data after the end of the COPY stream');
    let off = from;
    if (this.carryLen > 0) {
      // Top the carry up with just the bytes its unit still needs, then decode it from there.
      for (;;) {
        const need = this.carryNeed();
        if (need <= this.carryLen) break;
        const take = Math.min(need - this.carryLen, n - off);
        if (take === 0) return -1;
        this.appendCarry(chunk, off, take);
        off += take;
      }
      const used = this.decode(this.carry, this.carryView, 0, this.carryLen, sink);
      if (used !== this.carryLen) throw new Error('internal: the carried row did not decode whole');
      this.carryLen = 0;
      this.walkField = -1;
      if (this.carry.length > CARRY_KEEP) {
        this.carry = new Uint8Array(256);
        this.carryView = new DataView(this.carry.buffer);
      }
      if (this.cutPending) return this.resumeAt(off, n);
      if (off < n && this.ended) throw new CopyFormatError('data after the end of the COPY stream');
    }
    if (off < n) {
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const stop = this.decode(chunk, view, off, n, sink);
      if (this.cutPending) return this.resumeAt(stop, n);
      if (stop < n) this.appendCarry(chunk, stop, n - stop);
    }
    return -1;
  }

  /** After a cut: where the next push of this chunk starts, or -1 when nothing of it is left. */
  private resumeAt(pos: number, n: number): number {
    this.cutPending = false;
    return pos < n ? pos : -1;
  }

  /**
   * Checks that the stream ended where it should. Throws a {@link CopyFormatError} when it was
   * cut short (no header, no trailer, or an unfinished row) or bytes follow the trailer.
   */
  finish(): void {
    if (!this.headerDone) throw new CopyFormatError('COPY stream ended before its header (truncated)');
    if (!this.ended) {
      throw new CopyFormatError(
        `COPY stream ended without its trailer (truncated${this.carryLen > 0 ? ` inside a row, ${this.carryLen} bytes pending` : ''})`,
      );
    }
    if (this.carryLen > 0) throw new CopyFormatError(`${this.carryLen} bytes after the COPY trailer`);
  }

  private appendCarry(src: Uint8Array, from: number, count: number): void {
    const need = this.carryLen + count;
    if (need > this.carry.length) {
      const next = new Uint8Array(Math.max(need, this.carry.length * 2));
      next.set(this.carry.subarray(0, this.carryLen));
      this.carry = next;
      this.carryView = new DataView(next.buffer);
    }
    this.carry.set(src.subarray(from, from + count), this.carryLen);
    this.carryLen = need;
  }

  /**
   * How many bytes the carried unit needs before it can be decoded: ≤ carryLen when it is
   * complete. Resumes where the previous call stopped, so a large row arriving in many chunks
   * costs one walk over its field lengths.
   */
  private carryNeed(): number {
    const v = this.carryView;
    const len = this.carryLen;
    if (!this.headerDone) {
      if (len < HEADER_BYTES) return HEADER_BYTES;
      const ext = v.getInt32(15);
      if (ext < 0) throw new CopyFormatError(`bad COPY header extension length ${ext}`);
      return HEADER_BYTES + ext;
    }
    if (len < 2) return 2;
    if (this.walkField < 0) {
      const fields = v.getInt16(0);
      if (fields === -1) return 2;
      if (fields !== this.ncols) throw this.fieldCountError(fields);
      this.walkField = 0;
      this.walkPos = 2;
    }
    while (this.walkField < this.ncols) {
      const q = this.walkPos;
      if (q + 4 > len) return q + 4;
      const flen = v.getInt32(q);
      if (flen < -1) throw new CopyFormatError(`bad field length ${flen}`);
      const end = q + 4 + (flen > 0 ? flen : 0);
      if (end > len) return end;
      this.walkPos = end;
      this.walkField++;
    }
    return this.walkPos;
  }

  private fieldCountError(fields: number): CopyFormatError {
    return new CopyFormatError(`a COPY row has ${fields} fields, ${this.ncols} were expected`);
  }

  /**
   * Decodes whole units (header, rows, trailer) from `buf[start, end)` into `sink`; returns where
   * the first incomplete one starts (== end when none).
   */
  private decode(buf: Uint8Array, view: DataView, start: number, end: number, sink: RowSink): number {
    let p = start;
    if (!this.headerDone) {
      if (end - p < HEADER_BYTES) return p;
      for (let i = 0; i < SIGNATURE.length; i++) {
        if (buf[p + i] !== SIGNATURE[i])
          throw new CopyFormatError('not a binary COPY stream (bad signature)');
      }
      const flags = view.getInt32(p + 11);
      if (flags & FLAG_OIDS) throw new CopyFormatError('binary COPY with OIDs is not supported');
      const ext = view.getInt32(p + 15);
      if (ext < 0) throw new CopyFormatError(`bad COPY header extension length ${ext}`);
      if (end - p < HEADER_BYTES + ext) return p;
      p += HEADER_BYTES + ext;
      this.headerDone = true;
    }
    const ncols = this.ncols;
    const rowOverhead = 2 + 4 * ncols;
    const columns = sink.columns;
    while (p + 2 <= end) {
      if (this.ended) throw new CopyFormatError('data after the end of the COPY stream');
      const fields = view.getInt16(p);
      if (fields !== ncols) {
        if (fields === -1) {
          this.ended = true;
          p += 2;
          continue;
        }
        throw this.fieldCountError(fields);
      }
      let q = p + 2;
      let c = 0;
      try {
        for (; c < ncols; c++) {
          if (q + 4 > end) break;
          const len = view.getInt32(q);
          q += 4;
          if (len < 0) {
            if (len !== -1) throw new CopyFormatError(`bad field length ${len}`);
            appendNull(columns[c]!);
          } else {
            if (q + len > end) break;
            appendValue(columns[c]!, buf, view, q, len);
            q += len;
          }
        }
      } catch (err) {
        if (!(err instanceof ValueProblem)) throw err;
        // Report it with the row's own cursor: if the row is not all here yet, carry it and
        // decode it again (the problem recurs) once it is.
        if (rowEnd(view, p, end, ncols) < 0) {
          rollback(columns, c, true);
          return p;
        }
        throw sink.valueError(err, c, view, p);
      }
      if (c < ncols) {
        rollback(columns, c, false);
        return p;
      }
      const fieldBytes = q - p - rowOverhead;
      p = q;
      if (sink.endRow(fieldBytes)) {
        // A batch was cut: stop here, so that its caller can release it before the next one
        // is begun (which then reuses its buffers).
        this.cutPending = true;
        return p;
      }
    }
    return p;
  }
}

/** Undoes a partial row: columns before `c` got a value; column `c` may hold a failed one. */
function rollback(columns: readonly Column[], c: number, failedAtC: boolean): void {
  for (let i = 0; i < c; i++) {
    const col = columns[i]!;
    truncate(col, col.n - 1);
  }
  if (failedAtC) truncate(columns[c]!, columns[c]!.n);
}

/** End of the row at `p` if all of it is in `[p, end)`, else -1. */
function rowEnd(view: DataView, p: number, end: number, ncols: number): number {
  let q = p + 2;
  for (let c = 0; c < ncols; c++) {
    if (q + 4 > end) return -1;
    const len = view.getInt32(q);
    q += 4 + (len > 0 ? len : 0);
    if (q > end) return -1;
  }
  return q;
}
