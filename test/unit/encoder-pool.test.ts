/**
 * Parquet encoding on worker threads: files identical to the inline encoder's (checked byte for
 * byte and with the independent reader hyparquet), concurrency beyond the thread count, encoder
 * errors, and the thread-count setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Field, Int64, makeData, RecordBatch, Schema, Struct, Utf8, vectorFromArray } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { inlineEncoder } from '../../src/parquet/encoder.js';
import {
  ENCODER_THREADS_ENV,
  encoderThreadsFromEnv,
  ParquetEncodeError,
  ParquetEncoderPool,
} from '../../src/parquet/encoder-pool.js';
import { toIpcStream, type ParquetWriteOptions } from '../../src/parquet/writer.js';

const schema = new Schema([new Field('id', new Int64(), false), new Field('name', new Utf8(), true)]);

function batchOf(start: number, rows: number): RecordBatch {
  const ids = new BigInt64Array(rows).map((_, i) => BigInt(start + i));
  const names = vectorFromArray(
    Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : `row ${start + i} ✓`)),
    new Utf8(),
  );
  const children = [makeData({ type: new Int64(), length: rows, data: ids }), names.data[0]!];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children }));
}

const opts: ParquetWriteOptions = { compression: 'zstd', rowGroupRows: 4096, metadata: { k: 'v' } };

test('files from encoder threads equal those of the inline encoder, whatever the concurrency', async () => {
  const pool = new ParquetEncoderPool(2, true);
  try {
    const batches = Array.from({ length: 5 }, (_, i) => batchOf(i * 10_000, 10_000 + i));
    const threaded = await Promise.all(batches.map((b) => pool.encode(toIpcStream(schema, [b]), opts)));
    for (const [i, b] of batches.entries()) {
      const inline = await inlineEncoder.encode(toIpcStream(schema, [b]), opts);
      assert.deepEqual(Buffer.from(threaded[i]!), Buffer.from(inline), `file ${i}`);
      const file = threaded[i]!;
      const rows = await parquetReadObjects({
        file: file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer,
        compressors,
      });
      assert.equal(rows.length, 10_000 + i);
      assert.deepEqual(rows[1], { id: BigInt(i * 10_000 + 1), name: `row ${i * 10_000 + 1} ✓` });
      assert.equal(rows[0]!.name, null);
    }
  } finally {
    await pool.close();
  }
});

test('an input the encoder cannot read rejects with ParquetEncodeError and the pool keeps working', async () => {
  const pool = new ParquetEncoderPool(1);
  try {
    await assert.rejects(pool.encode(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), opts), ParquetEncodeError);
    const ok = await pool.encode(toIpcStream(schema, [batchOf(0, 10)]), opts);
    assert.equal(Buffer.from(ok.subarray(0, 4)).toString(), 'PAR1');
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.encode(toIpcStream(schema, [batchOf(0, 1)]), opts), ParquetEncodeError);
});

test('the pool admits threads + 1 files at a time; a settled one lets the next caller in, close lets all in', async () => {
  const pool = new ParquetEncoderPool(1);
  const order: string[] = [];
  const first = await pool.admit();
  const second = await pool.admit();
  // The third waits until one of the two admitted files has settled.
  const third = pool.admit().then((done) => {
    order.push('third');
    return done;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([...order], [], 'no room for a third file while two are admitted');
  order.push('first settled');
  first();
  first(); // a second call changes nothing
  const thirdDone = await third;
  assert.deepEqual([...order], ['first settled', 'third']);
  const fourth = pool.admit().then(() => order.push('fourth'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([...order], ['first settled', 'third'], 'the repeated call freed no second slot');
  await pool.close();
  await fourth;
  assert.deepEqual(order, ['first settled', 'third', 'fourth']);
  second();
  thirdDone();
  // Inline encoding admits every file at once.
  await inlineEncoder.admit();
});

test('PG_PARQUET_ENCODER_THREADS sets the thread count; bad values are refused', () => {
  assert.equal(encoderThreadsFromEnv({ [ENCODER_THREADS_ENV]: '0' }), 0);
  assert.equal(encoderThreadsFromEnv({ [ENCODER_THREADS_ENV]: '3' }), 3);
  // Default: inline on one core, else cores − 1, at most 4.
  assert.equal(encoderThreadsFromEnv({}, 1), 0);
  assert.equal(encoderThreadsFromEnv({}, 2), 1);
  assert.equal(encoderThreadsFromEnv({}, 4), 3);
  assert.equal(encoderThreadsFromEnv({}, 16), 4);
  for (const bad of ['-1', '1.5', 'two', '1000']) {
    assert.throws(() => encoderThreadsFromEnv({ [ENCODER_THREADS_ENV]: bad }), RangeError, bad);
  }
  assert.throws(() => new ParquetEncoderPool(0), RangeError);
});
