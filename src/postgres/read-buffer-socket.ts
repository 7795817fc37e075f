/**
 * A TCP (or Unix) socket for node-postgres that reads into one buffer of its own, over and over.
 * Node's default socket gives every read a new 64 KiB ArrayBuffer: during COPY that is ~180 MB of
 * them per million bench rows, which V8 counts as external memory and answers with scavenges and
 * full collections of the worker's main heap, and whose memory (malloc'd, below glibc's mmap
 * threshold) fragments a long-lived worker's heap. With one buffer, a chunk is valid only until
 * the socket reads again: node-postgres's message parser gets a copy of each chunk (it keeps
 * partial messages across chunks); a tap (the COPY-out stream) sees the buffer itself and stops
 * the socket until it is done with it.
 *
 * Only for plain connections: TLS reads through its own socket (see connection.ts).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Bytes one read may take. Larger than Node's 64 KiB, so that a fast COPY needs fewer reads and
 * fewer trips through the framing and the decoder; one such buffer per open connection.
 */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Takes one chunk, a view of the socket's buffer. Returns false to stop reading until the
 * socket's `resume()`: the buffer is then not written again before that.
 */
export type ChunkTap = (chunk: Buffer) => boolean;

/** A socket that reads into one reused buffer (see the module comment). */
export class ReadBufferSocket extends net.Socket {
  private tap: ChunkTap | null = null;

  constructor() {
    // `this` does not exist before super() returns: the callback reaches it through `self`.
    const self: { socket: ReadBufferSocket | null } = { socket: null };
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    // Node's Socket constructor takes `onread` as `connect()` does; @types/node lists it for
    // `connect()` only.
    const options: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
      onread: { buffer, callback: (bytes: number) => self.socket!.received(buffer.subarray(0, bytes)) },
    };
    super(options);
    self.socket = this;
  }

  /** Sends the chunks to `tap` from the next read on, instead of emitting them as 'data'. */
  setTap(tap: ChunkTap | null): void {
    this.tap = tap;
  }

  private received(chunk: Buffer): boolean {
    if (this.tap) return this.tap(chunk);
    // node-postgres keeps what it has not parsed yet: it gets bytes that stay as they are.
    this.emit('data', Buffer.from(chunk));
    return true;
  }
}

/**
 * Sends `socket`'s chunks to `take` instead of to node-postgres (its one 'data' listener) until
 * the returned function is called; then node-postgres reads again. Works on any socket: a
 * {@link ReadBufferSocket} hands its buffer over, any other socket its fresh chunks (a tap that
 * returns false pauses it, as the read buffer socket stops itself).
 */
export function tapSocket(socket: Duplex, take: ChunkTap): () => void {
  if (socket instanceof ReadBufferSocket) {
    socket.setTap(take);
    return () => socket.setTap(null);
  }
  const handlers = socket.listeners('data');
  if (handlers.length !== 1)
    throw new Error(`expected one data listener on the connection, found ${handlers.length}`);
  const pgHandler = handlers[0] as (chunk: Buffer) => void;
  socket.removeListener('data', pgHandler);
  const ours = (chunk: Buffer) => {
    if (!take(chunk)) socket.pause();
  };
  socket.on('data', ours);
  return () => {
    socket.removeListener('data', ours);
    socket.on('data', pgHandler);
  };
}
