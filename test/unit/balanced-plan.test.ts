import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBalancedRanges } from '../../src/plan/balanced.js';
import type { IntegerPartitionRange as PartitionRange } from '../../src/plan/partitions.js';

function assertCovers(ranges: PartitionRange[], values: bigint[]): void {
  for (const v of values) {
    const hits = ranges.filter(
      (r) => (r.lo === null || v >= BigInt(r.lo)) && (r.hi === null || v < BigInt(r.hi)),
    );
    assert.equal(hits.length, 1, `value ${v} is in ${hits.length} ranges`);
  }
  ranges.forEach((r, i) => assert.equal(r.index, i));
  assert.equal(ranges[0]!.includesNulls, true);
  assert.equal(ranges.filter((r) => r.includesNulls).length, 1);
}

/** Rows per range for a dataset given as sorted ids. */
function rowsPerRange(ranges: PartitionRange[], ids: bigint[]): number[] {
  return ranges.map(
    (r) =>
      ids.filter((v) => (r.lo === null || v >= BigInt(r.lo)) && (r.hi === null || v < BigInt(r.hi))).length,
  );
}

test('skewed data: cuts follow the quantiles, not the id span', () => {
  // 10% of 10,000 rows spread over [90, 90,000], 90% dense after 90,000 (like bench_skewed).
  const ids: bigint[] = [];
  for (let g = 1n; g <= 10_000n; g++) ids.push(g <= 1000n ? g * 90n : 90_000n + g);
  const bounds = Array.from({ length: 101 }, (_, i) =>
    ids[Math.min(ids.length - 1, Math.floor((i * (ids.length - 1)) / 100))]!.toString(),
  );
  const ranges = planBalancedRanges({ bounds, count: 8, maxPartitions: 100 });
  assert.equal(ranges.length, 8);
  const rows = rowsPerRange(ranges, ids);
  assert.ok(Math.max(...rows) / Math.min(...rows) <= 1.1, `rows per range ${rows.join(',')}`);
  assertCovers(ranges, [...ids, -1n, 10n ** 12n]);
});

test('duplicates in bounds, few distinct values, one partition', () => {
  const r = planBalancedRanges({ bounds: ['5', '5', '5', '6', '6'], count: 10, maxPartitions: 100 });
  assert.ok(r.length <= 2);
  assertCovers(r, [4n, 5n, 6n, 7n]);
  assert.equal(planBalancedRanges({ bounds: ['1', '100'], count: 1, maxPartitions: 10 }).length, 1);
  assert.deepEqual(planBalancedRanges({ bounds: [], count: 4, maxPartitions: 10 }), [
    { index: 0, lo: null, hi: null, includesNulls: true },
  ]);
});

test('int8 extremes', () => {
  const min = -(2n ** 63n);
  const max = 2n ** 63n - 1n;
  const r = planBalancedRanges({ bounds: [min, -1n, 0n, max].map(String), count: 6, maxPartitions: 100 });
  assertCovers(r, [min, -1n, 0n, 1n, max]);
  for (const x of r)
    for (const b of [x.lo, x.hi]) if (b !== null) assert.ok(BigInt(b) > min && BigInt(b) <= max);
});
