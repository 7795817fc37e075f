import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  planUniformRanges,
  type IntegerPartitionRange as PartitionRange,
  type PlanInput,
  coverageProblem,
} from '../../src/plan/partitions.js';

const base: PlanInput = {
  min: '1',
  max: '100',
  totalBytes: 0,
  targetBytes: 1,
  count: null,
  maxPartitions: 100_000,
};

/** Every integer in [lo, hi] must fall in exactly one range, and NULL only in the first. */
function assertCovers(ranges: PartitionRange[], values: bigint[]): void {
  for (const v of values) {
    const hits = ranges.filter(
      (r) => (r.lo === null || v >= BigInt(r.lo)) && (r.hi === null || v < BigInt(r.hi)),
    );
    assert.equal(hits.length, 1, `value ${v} is in ${hits.length} ranges`);
  }
  assert.equal(ranges.filter((r) => r.includesNulls).length, 1);
  assert.equal(ranges[0]?.includesNulls, true);
  ranges.forEach((r, i) => assert.equal(r.index, i));
}

describe('planUniformRanges', () => {
  test('empty table: one open partition that takes everything', () => {
    const r = planUniformRanges({ ...base, min: null, max: null, count: 8 });
    assert.deepEqual(r, [{ index: 0, lo: null, hi: null, includesNulls: true }]);
  });

  test('one row (min = max): one partition even when more are asked', () => {
    const r = planUniformRanges({ ...base, min: '42', max: '42', count: 16 });
    assert.equal(r.length, 1);
    assertCovers(r, [41n, 42n, 43n]);
  });

  test('never more partitions than distinct values', () => {
    const r = planUniformRanges({ ...base, min: '10', max: '12', count: 10 });
    assert.equal(r.length, 3);
    assertCovers(r, [9n, 10n, 11n, 12n, 13n]);
  });

  test('count splits evenly: widths differ by at most one', () => {
    const r = planUniformRanges({ ...base, min: '1', max: '100', count: 7 });
    assert.equal(r.length, 7);
    const inner = r.slice(1, -1).map((x) => Number(BigInt(x.hi!) - BigInt(x.lo!)));
    assert.ok(Math.max(...inner) - Math.min(...inner) <= 1, `widths ${inner.join(',')}`);
    assertCovers(
      r,
      Array.from({ length: 120 }, (_, i) => BigInt(i - 10)),
    );
  });

  test('gaps and negative ids', () => {
    const r = planUniformRanges({ ...base, min: '-1000', max: '1000', count: 4 });
    assert.deepEqual(
      r.map((x) => [x.lo, x.hi]),
      [
        // span 2001 over 4: bounds at -1000 + floor(2001 * i / 4) = -500, 0, 500
        [null, '-500'],
        ['-500', '0'],
        ['0', '500'],
        ['500', null],
      ],
    );
    assertCovers(r, [-5000n, -1000n, -500n, -499n, 0n, 1n, 999n, 1000n, 5000n]);
  });

  test('int8 extremes do not overflow', () => {
    const min = '-9223372036854775808';
    const max = '9223372036854775807';
    const r = planUniformRanges({ ...base, min, max, count: 3 });
    assert.equal(r.length, 3);
    assertCovers(r, [BigInt(min), -1n, 0n, 1n, BigInt(max)]);
    for (const x of r) {
      for (const b of [x.lo, x.hi])
        if (b !== null) assert.ok(BigInt(b) >= BigInt(min) && BigInt(b) <= BigInt(max));
    }
  });

  test('partition count from size / targetBytes, capped by maxPartitions', () => {
    assert.equal(
      planUniformRanges({ ...base, min: '1', max: '1000000', totalBytes: 1000, targetBytes: 300 }).length,
      4,
    );
    assert.equal(
      planUniformRanges({ ...base, min: '1', max: '1000000', totalBytes: 0, targetBytes: 300 }).length,
      1,
    );
    assert.equal(
      planUniformRanges({
        ...base,
        min: '1',
        max: '1000000',
        totalBytes: 10 ** 9,
        targetBytes: 1,
        maxPartitions: 50,
      }).length,
      50,
    );
  });

  test('refuses max < min', () => {
    assert.throws(() => planUniformRanges({ ...base, min: '5', max: '4' }), RangeError);
  });
});

test('coverageProblem accepts what the planners produce and names every gap, overlap or miscount', () => {
  const planned = planUniformRanges({
    min: '1',
    max: '100',
    totalBytes: 0,
    targetBytes: 1,
    count: 4,
    maxPartitions: 10,
  });
  assert.equal(coverageProblem(planned, 4), undefined);
  assert.equal(coverageProblem([{ index: 0, lo: null, hi: null, includesNulls: true }], 1), undefined);
  // Another plan's ranges under this plan's count (two runs of one runKey racing): refused.
  const other = planUniformRanges({
    min: '1',
    max: '100',
    totalBytes: 0,
    targetBytes: 1,
    count: 8,
    maxPartitions: 10,
  });
  assert.ok(coverageProblem(other, 4));
  assert.ok(coverageProblem(planned.slice(0, 3), 4), 'a missing last range');
  const [a, b, c, d] = planned as [PartitionRange, PartitionRange, PartitionRange, PartitionRange];
  assert.ok(coverageProblem([a, { ...b, lo: String(Number(b.lo) + 1) }, c, d], 4), 'a gap');
  assert.ok(coverageProblem([{ ...a, lo: '1' }, b, c, d], 4), 'closed below');
  assert.ok(coverageProblem([a, b, c, { ...d, hi: '100' }], 4), 'closed above');
  assert.ok(coverageProblem([a, { ...b, includesNulls: true }, c, d], 4), 'NULLs twice');
  assert.ok(coverageProblem([a, c, b, d], 4), 'out of order');
});
