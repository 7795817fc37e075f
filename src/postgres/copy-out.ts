/**
 * `COPY … TO STDOUT` as a readable stream of the COPY data itself, without the protocol's
 * per-row framing: PostgreSQL sends one CopyData message per row, and a general stream that
 * hands each message on as a Buffer allocates a million Buffers per million rows and then
 * concatenates them (pg-copy-streams measured 0.24 CPU-s per million bench rows, plus their GC).
 * Here each socket chunk has its CopyData payloads moved together in place, over the 5-byte
 * message headers between them, and the chunk's prefix is pushed as one Buffer.
 *
 * Like pg-copy-streams it takes the connection's socket from node-postgres while the COPY runs
 * (node-postgres 8 has no COPY-out API of its own) and hands it back at CopyDone or at an
 * ErrorResponse, with the bytes after it, so that node-postgres reads CommandComplete, the error
 * and ReadyForQuery as usual. Interspersed NoticeResponse, ParameterStatus and
 * NotificationResponse messages are skipped, as the protocol allows during COPY.
 */
import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { tapSocket } from './read-buffer-socket.js';

/** Protocol message codes seen during COPY out (PostgreSQL "Message Formats"). */
const MSG = {
  CopyData: 0x64,
  CopyDone: 0x63,
  CopyOutResponse: 0x48,
  ErrorResponse: 0x45,
  NoticeResponse: 0x4e,
  ParameterStatus: 0x53,
  NotificationResponse: 0x41,
} as const;

/** A message header: one code byte and an int32 length that counts itself. */
const HEADER_BYTES = 5;

/** Parser states: reading a message header, or the body of the current message. */
const enum State {
  Header,
  Body,
}

/**
 * Strips the protocol framing from COPY-out socket chunks, in place. Pure (no I/O): the stream
 * below feeds it, and unit tests feed it chunks cut anywhere.
 */
export class CopyOutFraming {
  private state = State.Header;
  /** Header bytes seen so far when a header straddles chunks. */
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerLen = 0;
  private code = 0;
  private remaining = 0;

  /**
   * Moves the COPY data of `chunk` to its front and returns how much of it that is (`data`),
   * and, once the COPY has ended or failed, the bytes that belong to node-postgres again
   * (`rest`: from the message after CopyDone, or from the ErrorResponse itself). `chunk` is
   * overwritten; bytes from `data` on are left as they were.
   */
  take(chunk: Buffer): { data: number; rest: Buffer | null } {
    const n = chunk.length;
    let r = 0;
    let w = 0;
    while (r < n) {
      if (this.state === State.Header) {
        const start = r;
        /** Header bytes of this message that came in earlier chunks. */
        let earlier = 0;
        if (this.headerLen === 0 && n - r >= HEADER_BYTES) {
          this.code = chunk[r]!;
          this.remaining = chunk.readUInt32BE(r + 1) - 4;
          r += HEADER_BYTES;
        } else {
          earlier = this.headerLen;
          const take = Math.min(HEADER_BYTES - this.headerLen, n - r);
          chunk.copy(this.header, this.headerLen, r, r + take);
          this.headerLen += take;
          r += take;
          if (this.headerLen < HEADER_BYTES) {
            // The code byte alone tells an error: hand it back without waiting for the rest.
            if (this.header[0] === MSG.ErrorResponse)
              return { data: w, rest: this.handBack(chunk, start, earlier) };
            break;
          }
          this.code = this.header[0]!;
          this.remaining = this.header.readUInt32BE(1) - 4;
          this.headerLen = 0;
        }
        const code = this.code;
        if (code === MSG.CopyDone) return { data: w, rest: chunk.subarray(r) };
        if (
          code !== MSG.CopyData &&
          code !== MSG.CopyOutResponse &&
          code !== MSG.NoticeResponse &&
          code !== MSG.ParameterStatus &&
          code !== MSG.NotificationResponse
        ) {
          // An ErrorResponse (or anything else) ends COPY mode: node-postgres reads it.
          return { data: w, rest: this.handBack(chunk, start, earlier) };
        }
        this.state = State.Body;
        if (this.remaining < 0) throw new RangeError(`bad protocol message length ${this.remaining + 4}`);
      }
      const take = Math.min(this.remaining, n - r);
      if (this.code === MSG.CopyData) {
        if (w !== r) chunk.copyWithin(w, r, r + take);
        w += take;
      }
      r += take;
      this.remaining -= take;
      if (this.remaining === 0) this.state = State.Header;
    }
    return { data: w, rest: null };
  }

  /** The message from `start` of `chunk` on, with its first `earlier` header bytes from before. */
  private handBack(chunk: Buffer, start: number, earlier: number): Buffer {
    if (earlier === 0) return chunk.subarray(start);
    return Buffer.concat([this.header.subarray(0, earlier), chunk.subarray(start)]);
  }
}

/** Where a COPY stream is: reading, ended (every chunk handed out), or failed. */
const enum Phase {
  Reading,
  Ended,
  Failed,
}

/**
 * A COPY TO STDOUT query for `client.query(…)`: an async iterable of the COPY data, and the
 * server's row count once it has ended. A chunk is valid until the loop asks for the next one
 * (on our connections it is a view of the socket's one buffer, see read-buffer-socket.ts):
 * whoever keeps bytes past that copies them, as the COPY decoder does with a row cut between
 * chunks. The socket reads nothing more until then, which is also the stream's back-pressure.
 */
export class CopyOutStream implements pg.Submittable, AsyncIterable<Buffer> {
  /** The server's row count (from CommandComplete "COPY n"), set once the query is complete. */
  rowCount = 0;
  private socket: Duplex | null = null;
  private untap: (() => void) | null = null;
  private readonly framing = new CopyOutFraming();
  private phase = Phase.Reading;
  private error: Error | null = null;
  /** The chunk received and not yet handed out. */
  private pending: Buffer | null = null;
  /** A chunk was handed out: the socket waits for the next request before it reads again. */
  private handedOut = false;
  private wake: (() => void) | null = null;
  /** The reader has stopped: the rest of the COPY is read and dropped. */
  private draining = false;

  constructor(private readonly text: string) {}

  /** Called by node-postgres when the query is its turn. */
  submit(connection: pg.Connection): void {
    const socket = connection.stream;
    this.socket = socket;
    this.untap = tapSocket(socket, (chunk) => this.take(chunk));
    connection.query(this.text);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    try {
      for (;;) {
        // The last chunk is done with: the socket may read (into its buffer) again.
        this.release();
        while (this.pending === null && this.phase === Phase.Reading) {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
        const chunk = this.pending;
        if (chunk !== null) {
          this.pending = null;
          this.handedOut = true;
          yield chunk;
          continue;
        }
        if (this.phase === Phase.Failed) throw this.error!;
        return;
      }
    } finally {
      // A reader that stops early (its own error, a cancelled extraction) leaves the rest of
      // the COPY to be read and dropped, so that the connection is usable again after it.
      if (this.phase === Phase.Reading) {
        this.draining = true;
        this.pending = null;
      }
      // Whatever ended the loop, the socket reads again (node-postgres needs it after the COPY).
      this.release();
    }
  }

  /** The chunk handed out is done with: the socket, stopped for it, reads again. */
  private release(): void {
    if (!this.handedOut) return;
    this.handedOut = false;
    this.socket?.resume();
  }

  /** One socket chunk: its COPY data is kept for the reader; the socket stops until it is read. */
  private take(chunk: Buffer): boolean {
    try {
      const { data, rest } = this.framing.take(chunk);
      if (data > 0 && !this.draining) this.pending = chunk.subarray(0, data);
      // The stream ends at CommandComplete, so that `rowCount` is set when a reader sees the end.
      if (rest) this.detach(rest);
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
    this.notify();
    return this.pending === null;
  }

  /** Gives the socket back to node-postgres with the bytes it has to read first. */
  private detach(rest: Buffer): void {
    this.untap?.();
    this.untap = null;
    // A copy: `rest` may be a view of the socket's buffer, which node-postgres must not see change.
    if (rest.length > 0) this.socket!.emit('data', Buffer.from(rest));
  }

  /** node-postgres: the query failed (an ErrorResponse, or the connection ended). */
  handleError(err: Error): void {
    this.fail(err);
  }

  /** node-postgres: CommandComplete, whose text is "COPY n". */
  handleCommandComplete(msg: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(msg.text ?? '');
    if (match) this.rowCount = Number(match[1]);
    this.end();
  }

  /** node-postgres: the query is over. */
  handleReadyForQuery(): void {
    this.end();
  }

  private end(): void {
    if (this.phase !== Phase.Reading) return;
    this.phase = Phase.Ended;
    this.notify();
  }

  private fail(err: Error): void {
    if (this.phase !== Phase.Reading) return;
    this.phase = Phase.Failed;
    this.error = err;
    // What was not read yet of a failed COPY is not handed out.
    this.pending = null;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
