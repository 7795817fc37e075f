import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dataFileKey,
  manifestKey,
  parseRawBatchKey,
  partitionDoneKey,
  rawBatchKey,
  runPrefix,
  successKey,
} from '../../src/run/keys.js';

const run = { table: 'public.events', runKey: '20261122T101500Z' };

test('keys follow the documented layout', () => {
  assert.equal(
    rawBatchKey(run, 3, 12),
    'public.events/run=20261122T101500Z/raw/part=00003/batch=000012.parquet',
  );
  assert.equal(dataFileKey(run, 7), 'public.events/run=20261122T101500Z/data/part-00007.parquet');
  assert.equal(manifestKey(run), 'public.events/run=20261122T101500Z/_manifest.json');
  assert.equal(successKey(run), 'public.events/run=20261122T101500Z/_SUCCESS');
  assert.equal(partitionDoneKey(run, 0), 'public.events/run=20261122T101500Z/raw/part=00000/_partition.json');
});

test('keys sort in partition then batch order', () => {
  const keys = [];
  for (const p of [0, 1, 2, 10, 99, 100, 99_999])
    for (const b of [0, 1, 9, 10, 11, 100, 12_345]) keys.push(rawBatchKey(run, p, b));
  assert.deepEqual([...keys].sort(), keys);
});

test('keys are a pure function and round-trip', () => {
  assert.equal(rawBatchKey(run, 5, 6), rawBatchKey({ ...run }, 5, 6));
  assert.deepEqual(parseRawBatchKey(rawBatchKey(run, 42, 17)), { partition: 42, batch: 17 });
  assert.equal(parseRawBatchKey(manifestKey(run)), undefined);
});

test('table names cannot escape their prefix', () => {
  assert.equal(runPrefix({ table: 'a/b.c%d', runKey: 'k' }), 'a%2Fb.c%25d/run=k/');
  assert.throws(() => rawBatchKey(run, -1, 0), RangeError);
  assert.throws(() => rawBatchKey(run, 1.5, 0), RangeError);
});
