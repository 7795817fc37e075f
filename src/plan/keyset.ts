/**
 * Row-balanced planning of a keyset cursor (pure): the ranges are cut at quantiles of a sample
 * of the whole key, which the database sorted in the key's own order (collation included: no
 * JS comparison could reproduce a collation, so this module never compares two keys).
 */
import type { PartitionRange } from './partitions.js';

/** Input of {@link planKeysetRanges}. */
export interface KeysetPlanInput {
  /** Sampled key values, ascending in the key's order. */
  readonly sorted: readonly (readonly string[])[];
  readonly count: number;
  readonly maxPartitions: number;
}

/**
 * Up to `count` ranges, each starting at the sampled key at position i/count of the sample, so
 * that each holds about the same share of the sampled rows. Same invariants as the integer
 * planners: dense indexes, the first range open below (and taking NULL keys), the last open
 * above; fewer ranges when the sample has fewer distinct keys than `count`.
 */
export function planKeysetRanges(input: KeysetPlanInput): PartitionRange[] {
  const n = Math.max(1, Math.min(input.count, input.maxPartitions));
  const cuts: (readonly string[])[] = [];
  let last = 0;
  for (let i = 1; i < n; i++) {
    const at = Math.floor((i * input.sorted.length) / n);
    // Position 0 would leave the first range empty; a repeated position an empty middle one.
    if (at <= last || at >= input.sorted.length) continue;
    // A non-unique key repeats in the sample: equal cuts would leave an empty range between them.
    if (cuts.length > 0 && JSON.stringify(cuts.at(-1)) === JSON.stringify(input.sorted[at])) continue;
    cuts.push(input.sorted[at]!);
    last = at;
  }
  return Array.from({ length: cuts.length + 1 }, (_, i) => ({
    index: i,
    lo: i === 0 ? null : cuts[i - 1]!,
    hi: i === cuts.length ? null : cuts[i]!,
    includesNulls: i === 0,
  }));
}
