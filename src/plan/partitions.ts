/**
 * Partition planning: pure functions from the cursor's range and the table's size to a list of
 * half-open cursor ranges. Cursor values travel as decimal strings because int8 does not fit in
 * a JS number; arithmetic is done with BigInt.
 */

/** One planned cursor range: `lo <= cursor < hi`; `null` bounds are open. */
export interface PartitionRange {
  /** 0-based, dense. Object keys use it. */
  readonly index: number;
  /** Inclusive lower bound (decimal string), or null for no lower bound. */
  readonly lo: string | null;
  /** Exclusive upper bound (decimal string), or null for no upper bound. */
  readonly hi: string | null;
  /** Whether this partition also takes the rows whose cursor IS NULL (only the first one does). */
  readonly includesNulls: boolean;
}

/** What the planner needs to know about the table. */
export interface PlanInput {
  /** Smallest and largest cursor value, or null when the table has no non-null cursor. */
  readonly min: string | null;
  readonly max: string | null;
  /** Total size of the relation in bytes (pg_total_relation_size). */
  readonly totalBytes: number;
  /** Desired bytes per partition. */
  readonly targetBytes: number;
  /** Fixed partition count, overriding targetBytes. */
  readonly count: number | null;
  /** Upper limit of partitions. */
  readonly maxPartitions: number;
}

/**
 * Splits [min, max] into equal-width integer ranges. The first range is open below (and takes NULL
 * cursors), the last open above, so rows inserted outside [min, max] while the plan runs still
 * land in exactly one partition. Never yields more ranges than there are distinct values.
 */
export function planUniformRanges(input: PlanInput): PartitionRange[] {
  if (input.min === null || input.max === null) {
    return [{ index: 0, lo: null, hi: null, includesNulls: true }];
  }
  const min = BigInt(input.min);
  const max = BigInt(input.max);
  if (max < min) throw new RangeError(`max ${input.max} < min ${input.min}`);
  const span = max - min + 1n;
  const wanted =
    input.count ?? Math.max(1, Math.ceil(Math.max(0, input.totalBytes) / Math.max(1, input.targetBytes)));
  let n = BigInt(Math.min(wanted, input.maxPartitions));
  if (n > span) n = span;
  const ranges: PartitionRange[] = [];
  for (let i = 0n; i < n; i++) {
    // Bounds at min + floor(span * i / n): widths differ by at most one.
    const lo = i === 0n ? null : (min + (span * i) / n).toString();
    const hi = i === n - 1n ? null : (min + (span * (i + 1n)) / n).toString();
    ranges.push({ index: Number(i), lo, hi, includesNulls: i === 0n });
  }
  return ranges;
}
