/**
 * The reused shared buffers of the Arrow IPC streams (ipc-buffers.ts): the bytes equal arrow's own
 * `tableToIPC`, a buffer given back is written again instead of a new one, buffers in use are never
 * handed out twice, and the encoder threads read streams named only by their buffer's id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Field,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { IpcBufferPool } from '../../src/parquet/ipc-buffers.js';
import { ParquetEncoderPool } from '../../src/parquet/encoder-pool.js';
import { toIpcStream } from '../../src/parquet/writer.js';

const schema = new Schema([new Field('n', new Int32(), false), new Field('s', new Utf8(), true)]);

function batchOf(rows: number, seed: number): RecordBatch {
  const n = new Int32Array(rows).map((_, i) => seed + i);
  const s = vectorFromArray(
    Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : `v${seed + i}`)),
    new Utf8(),
  );
  const children = [makeData({ type: new Int32(), length: rows, data: n }), s.data[0]!];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children }));
}

test("a pooled stream holds exactly the bytes of arrow's tableToIPC", () => {
  const pool = new IpcBufferPool();
  for (const rows of [0, 1, 1000, 65_537]) {
    const batch = batchOf(rows, rows);
    const stream = pool.write(schema, [batch]);
    assert.ok(stream.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(
      Buffer.from(stream),
      Buffer.from(tableToIPC(new Table(schema, [batch]), 'stream')),
      `${rows} rows`,
    );
  }
});

test('a buffer given back is reused; buffers in use are distinct; unknown views are ignored', () => {
  const pool = new IpcBufferPool();
  const a = pool.write(schema, [batchOf(10_000, 0)]);
  const b = pool.write(schema, [batchOf(10_000, 1)]);
  assert.notEqual(pool.bufferOf(a)!.id, pool.bufferOf(b)!.id);
  assert.notEqual(a.buffer, b.buffer);
  pool.give(a);
  pool.give(a); // twice: still one free buffer
  const c = pool.write(schema, [batchOf(9_000, 2)]);
  assert.equal(c.buffer, a.buffer, 'the free buffer that fits is written again');
  const d = pool.write(schema, [batchOf(9_000, 3)]);
  assert.notEqual(d.buffer, a.buffer, 'a buffer in use is not handed out');
  pool.give(new Uint8Array(8)); // not the pool's: no effect
  assert.equal(pool.bufferOf(new Uint8Array(8)), undefined);
});

test('the pool lets go of its smallest free buffer past its bound, and says so', () => {
  const pool = new IpcBufferPool();
  const dropped: number[] = [];
  pool.onDrop((id) => dropped.push(id));
  const streams = [1, 2, 3, 4, 5, 6].map((k) => pool.write(schema, [batchOf(k * 20_000, k)]));
  for (const s of streams) pool.give(s);
  const smallest = pool.bufferOf(streams[0]!)!.id;
  // Bigger than any: a new buffer, and the smallest free one goes.
  pool.write(schema, [batchOf(400_000, 9)]);
  assert.deepEqual(dropped, [smallest]);
  assert.equal(pool.bufferOf(streams[0]!), undefined);
});

test('an encoder thread reads streams named by their buffer id, and forgets dropped buffers', async () => {
  const encoder = new ParquetEncoderPool(1, true);
  try {
    // More files than buffers and sizes that grow: buffers are sent once, named after, dropped, replaced.
    for (let k = 1; k <= 12; k++) {
      const rows = k * 7_000;
      const file = await encoder.encode(toIpcStream(schema, [batchOf(rows, k)]), {
        compression: 'zstd',
        rowGroupRows: 1_000_000,
      });
      const got = await parquetReadObjects({
        file: file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer,
        compressors,
      });
      assert.equal(got.length, rows);
      assert.deepEqual(got[1], { n: k + 1, s: `v${k + 1}` });
      assert.deepEqual(got[rows - 1], {
        n: k + rows - 1,
        s: (rows - 1) % 7 === 0 ? null : `v${k + rows - 1}`,
      });
    }
  } finally {
    await encoder.close();
  }
});
