/**
 * Row-balanced partition planning (pure): cuts the cursor range at the quantiles of its
 * distribution instead of at equal id spans, so skewed tables get partitions of similar size.
 */
import type { IntegerPartitionRange } from './partitions.js';

/** Input of {@link planBalancedRanges}. */
export interface BalancedPlanInput {
  /**
   * Ascending quantile boundaries of the cursor (decimal strings), min first and max last; each
   * gap between consecutive bounds holds about the same number of rows (a pg_stats histogram).
   */
  readonly bounds: readonly string[];
  readonly count: number;
  readonly maxPartitions: number;
}

/**
 * `count` ranges with about equal rows, interpolating linearly inside a histogram bucket. Same
 * invariants as planUniformRanges: dense indexes, the first range open below (and taking NULL
 * cursors), the last open above, every integer in exactly one range.
 */
export function planBalancedRanges(input: BalancedPlanInput): IntegerPartitionRange[] {
  const q = input.bounds.map((b) => BigInt(b));
  if (q.length === 0) return [{ index: 0, lo: null, hi: null, includesNulls: true }];
  for (let i = 1; i < q.length; i++) if (q[i]! < q[i - 1]!) throw new RangeError('bounds must be ascending');
  const min = q[0]!;
  const max = q.at(-1)!;
  const n = Math.max(1, Math.min(input.count, input.maxPartitions));
  const buckets = BigInt(q.length - 1);
  const cuts: bigint[] = [];
  for (let i = 1; i < n && buckets > 0n; i++) {
    // Position i/n of the rows lies in bucket b at fraction r/n of it.
    const pos = BigInt(i) * buckets;
    const b = pos / BigInt(n);
    const r = pos % BigInt(n);
    const lo = q[Number(b)]!;
    const hi = q[Number(b) + 1] ?? lo;
    const cut = lo + ((hi - lo) * r) / BigInt(n);
    // A cut must leave a non-empty integer interval on both sides and be strictly increasing.
    if (cut > min && cut <= max && (cuts.length === 0 || cut > cuts.at(-1)!)) cuts.push(cut);
  }
  const ranges: IntegerPartitionRange[] = [];
  for (let i = 0; i <= cuts.length; i++) {
    ranges.push({
      index: i,
      lo: i === 0 ? null : cuts[i - 1]!.toString(),
      hi: i === cuts.length ? null : cuts[i]!.toString(),
      includesNulls: i === 0,
    });
  }
  return ranges;
}
