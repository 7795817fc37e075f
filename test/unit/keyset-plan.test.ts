/** Pure parts of keyset cursors: planning from a sorted sample, coverage and spans of array bounds, key values read from Arrow. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal, makeData, RecordBatch, Schema, Field, Struct, Utf8, Int64 } from 'apache-arrow';
import { planKeysetRanges } from '../../src/plan/keyset.js';
import { coverageProblem } from '../../src/plan/partitions.js';
import { cursorSpan } from '../../src/plan/compaction.js';
import { keyValueAt, exactKeyColumn } from '../../src/arrow/key-values.js';
import type { ColumnSpec } from '../../src/arrow/column-spec.js';

const sample = (n: number) => Array.from({ length: n }, (_, i) => [`k${String(i).padStart(5, '0')}`]);

test('planKeysetRanges cuts at sample quantiles: dense, open at both ends, contiguous', () => {
  const ranges = planKeysetRanges({ sorted: sample(1000), count: 4, maxPartitions: 100 });
  assert.deepEqual(
    ranges.map((r) => [r.lo, r.hi]),
    [
      [null, ['k00250']],
      [['k00250'], ['k00500']],
      [['k00500'], ['k00750']],
      [['k00750'], null],
    ],
  );
  assert.equal(coverageProblem(ranges, 4), undefined);
  assert.deepEqual(
    ranges.map((r) => r.includesNulls),
    [true, false, false, false],
  );
});

test('planKeysetRanges: fewer distinct sampled keys than partitions gives fewer ranges, never an empty one', () => {
  assert.equal(planKeysetRanges({ sorted: sample(3), count: 10, maxPartitions: 100 }).length, 3);
  assert.equal(planKeysetRanges({ sorted: [], count: 10, maxPartitions: 100 }).length, 1);
  // A non-unique key repeats in the sample: equal cuts are dropped.
  const ties = [['a'], ['a'], ['a'], ['a'], ['b'], ['b'], ['b'], ['b']];
  const ranges = planKeysetRanges({ sorted: ties, count: 8, maxPartitions: 100 });
  assert.deepEqual(
    ranges.map((r) => r.lo),
    [null, ['a'], ['b']],
  );
  assert.equal(planKeysetRanges({ sorted: sample(1000), count: 50, maxPartitions: 5 }).length, 5);
});

test('coverageProblem compares array bounds by value', () => {
  const ok = [
    { index: 0, lo: null, hi: ['t1', '5'], includesNulls: true },
    { index: 1, lo: ['t1', '5'], hi: null, includesNulls: false },
  ];
  assert.equal(coverageProblem(ok, 2), undefined);
  const gap = [ok[0]!, { ...ok[1]!, lo: ['t1', '6'] }];
  assert.match(coverageProblem(gap, 2) ?? '', /range 1 starts at/);
});

test('cursorSpan of keyset inputs: the first min and the last max, in key order', () => {
  const f = (min: string[] | null, max: string[] | null) => ({
    key: 'k',
    partition: 0,
    rows: 1,
    bytes: 1,
    cursorMin: min,
    cursorMax: max,
  });
  assert.deepEqual(cursorSpan([f(['B1'], ['B9']), f(['a1'], ['a9'])]), { min: ['B1'], max: ['a9'] });
  // Integers keep comparing as integers.
  assert.deepEqual(
    cursorSpan([
      { key: 'k', partition: 0, rows: 1, bytes: 1, cursorMin: '10', cursorMax: '9' },
      { key: 'k', partition: 0, rows: 1, bytes: 1, cursorMin: '2', cursorMax: '3' },
    ]),
    { min: '2', max: '9' },
  );
});

test('keyValueAt reads text, int8 and decimal keys exactly as PostgreSQL prints them', () => {
  const text = makeData({
    type: new Utf8(),
    length: 2,
    valueOffsets: new Int32Array([0, 4, 5]), // é is two bytes
    data: new TextEncoder().encode('t1éx'),
  });
  const ints = makeData({
    type: new Int64(),
    length: 2,
    data: new BigInt64Array([-9223372036854775808n, 42n]),
  });
  // -12.3400 and 0.0005 at scale 4: 128-bit two's complement, four little-endian words each.
  const words = new Uint32Array(8);
  const put = (i: number, v: bigint) => {
    const u = BigInt.asUintN(128, v);
    for (let w = 0; w < 4; w++) words[4 * i + w] = Number((u >> BigInt(32 * w)) & 0xffffffffn);
  };
  put(0, -123400n);
  put(1, 5n);
  const dec = makeData({ type: new Decimal(4, 20, 128), length: 2, data: words });
  const fields = [
    new Field('t', new Utf8()),
    new Field('i', new Int64()),
    new Field('d', new Decimal(4, 20, 128)),
  ];
  const batch = new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length: 2, children: [text, ints, dec] }),
  );
  const spec = (name: string, kind: ColumnSpec['kind'], pgType: string, scale?: number): ColumnSpec => ({
    name,
    pgType,
    arrowType: '',
    selectExpr: name,
    kind,
    nullable: false,
    ...(scale === undefined ? {} : { scale, precision: 20 }),
  });
  const specs = [
    spec('t', 'text', 'text'),
    spec('i', 'int8', 'bigint'),
    spec('d', 'numeric-decimal', 'numeric(20,4)', 4),
  ];
  assert.deepEqual(keyValueAt(batch, [0, 1, 2], specs, 0), ['t1é', '-9223372036854775808', '-12.3400']);
  assert.deepEqual(keyValueAt(batch, [0, 1, 2], specs, 1), ['x', '42', '0.0005']);
  // An unconstrained numeric written at a stated scale may be rounded: not an exact key.
  assert.equal(exactKeyColumn(spec('d', 'numeric-decimal', 'numeric', 4)), false);
  assert.equal(exactKeyColumn(specs[2]!), true);
});
