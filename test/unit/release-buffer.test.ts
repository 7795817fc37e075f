/** releaseBuffer detaches only a large ArrayBuffer that the view covers alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { releaseBuffer } from '../../src/arrow/release-buffer.js';
import { parquetWasm } from '../../src/parquet/parquet-wasm.js';

const LARGE = 1 << 20;

test('a view covering its whole large ArrayBuffer: detached', () => {
  const a = new Uint8Array(LARGE).fill(7);
  releaseBuffer(a);
  assert.equal(a.buffer.byteLength, 0);
  assert.equal(a.length, 0);
  const f = new Float64Array(LARGE / 8);
  releaseBuffer(f);
  assert.equal(f.buffer.byteLength, 0);
});

test('part of a buffer, a shared buffer, a small buffer: left as they were', () => {
  const whole = new Uint8Array(LARGE).fill(1);
  const part = whole.subarray(16);
  releaseBuffer(part);
  assert.equal(whole.buffer.byteLength, LARGE);
  assert.equal(part[0], 1);

  const shared = new Uint8Array(new SharedArrayBuffer(LARGE));
  releaseBuffer(shared);
  assert.equal(shared.buffer.byteLength, LARGE);

  const small = new Uint8Array(1024).fill(3);
  releaseBuffer(small);
  assert.equal(small.length, 1024);
  assert.equal(small[1023], 3);
});

test('WebAssembly memory is not transferable: left as it was', () => {
  const memory = parquetWasm().wasmMemory();
  const size = memory.buffer.byteLength;
  assert.ok(size >= 65536);
  releaseBuffer(new Uint8Array(memory.buffer));
  assert.equal(memory.buffer.byteLength, size);
});
