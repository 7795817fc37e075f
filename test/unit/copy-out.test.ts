/**
 * The COPY-out protocol framing, on message streams built here as PostgreSQL's protocol lays them
 * out (code byte, int32 length counting itself, body) and cut into chunks anywhere, down to one
 * byte: the COPY data comes out whole and in order, interspersed messages are dropped, and the
 * bytes after CopyDone (or from an ErrorResponse on) are handed back exactly as sent.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CopyOutFraming } from '../../src/postgres/copy-out.js';

/** One protocol message. */
function message(code: string, body: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = code.charCodeAt(0);
  out.writeUInt32BE(4 + body.length, 1);
  out.set(body, 5);
  return out;
}

/** Deterministic pseudo-random bytes (a small LCG), so a failure can be reproduced. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Chunk lengths from `sizes`, cycled, until `total` bytes are cut. */
function cut(stream: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < stream.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, stream.length - at);
    // A copy per chunk: the framing overwrites its input, as a socket chunk may be.
    chunks.push(Buffer.from(stream.subarray(at, at + n)));
    at += n;
  }
  return chunks;
}

/** Feeds every chunk; returns the COPY data and what was handed back (with later chunks). */
function run(chunks: readonly Buffer[]): { data: Buffer; rest: Buffer | null } {
  const framing = new CopyOutFraming();
  const data: Buffer[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    const r = framing.take(chunk);
    data.push(Buffer.from(chunk.subarray(0, r.data)));
    if (r.rest) return { data: Buffer.concat(data), rest: Buffer.concat([r.rest, ...chunks.slice(i + 1)]) };
  }
  return { data: Buffer.concat(data), rest: null };
}

const payloads = Array.from({ length: 40 }, (_, i) => bytes(i * 7 + (i % 5 === 0 ? 0 : 3), i + 1));
const after = Buffer.concat([message('C', Buffer.from('COPY 40\0')), message('Z', Buffer.from('T'))]);
const copyData = Buffer.concat(payloads);

function copyStream(): Buffer {
  const body: Buffer[] = [message('H', bytes(7, 99))];
  payloads.forEach((p, i) => {
    body.push(message('d', p));
    if (i === 10) body.push(message('N', Buffer.from('Snotice\0\0')));
    if (i === 20) body.push(message('S', Buffer.from('TimeZone\0UTC\0')));
  });
  return Buffer.concat([...body, message('c'), after]);
}

const CUTS: readonly (readonly number[])[] = [
  [1],
  [2],
  [3],
  [4],
  [5],
  [6],
  [7, 1, 13],
  [64],
  [4096],
  [1 << 20],
];

describe('COPY-out framing', () => {
  for (const sizes of CUTS) {
    test(`chunks of ${sizes.join('/')} bytes: the COPY data whole, the rest handed back`, () => {
      const { data, rest } = run(cut(copyStream(), sizes));
      assert.deepEqual(data, copyData);
      assert.deepEqual(rest, after);
    });
  }

  for (const sizes of CUTS) {
    test(`chunks of ${sizes.join('/')} bytes: an ErrorResponse is handed back from its first byte`, () => {
      const error = Buffer.concat([
        message('E', Buffer.from('SERROR\0C57014\0\0')),
        message('Z', Buffer.from('I')),
      ]);
      const stream = Buffer.concat([message('H', bytes(7, 1)), message('d', payloads[3]), error]);
      const { data, rest } = run(cut(stream, sizes));
      assert.deepEqual(data, Buffer.from(payloads[3]!));
      assert.deepEqual(rest, error);
    });
  }

  test('a stream that is not over yet hands nothing back', () => {
    const stream = copyStream();
    const { data, rest } = run(cut(stream.subarray(0, 200), [9]));
    assert.equal(rest, null);
    assert.ok(data.length > 0 && copyData.subarray(0, data.length).equals(data));
  });
});
