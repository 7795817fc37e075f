/**
 * Partition planning: pure functions from the cursor's range and the table's size to a list of
 * half-open cursor ranges. Cursor values travel as decimal strings because int8 does not fit in
 * a JS number; arithmetic is done with BigInt. Keyset cursors (src/postgres/cursor-key.ts) have
 * one text per key column instead, planned by plan/keyset.ts.
 */
import { cursorValueText, sameCursorValue, type CursorValue } from '../postgres/cursor-key.js';

/** One planned cursor range: `lo <= cursor < hi`; `null` bounds are open. */
export interface PartitionRange {
  /** 0-based, dense. Object keys use it. */
  readonly index: number;
  /** Inclusive lower bound (decimal string, or a keyset value), or null for no lower bound. */
  readonly lo: CursorValue | null;
  /** Exclusive upper bound (decimal string, or a keyset value), or null for no upper bound. */
  readonly hi: CursorValue | null;
  /** Whether this partition also takes the rows whose cursor IS NULL (only the first one does). */
  readonly includesNulls: boolean;
}

/** A range of an integer-form cursor (what the integer planners make): bounds are decimal strings. */
export interface IntegerPartitionRange extends PartitionRange {
  readonly lo: string | null;
  readonly hi: string | null;
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
export function planUniformRanges(input: PlanInput): IntegerPartitionRange[] {
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
  const ranges: IntegerPartitionRange[] = [];
  for (let i = 0n; i < n; i++) {
    // Bounds at min + floor(span * i / n): widths differ by at most one.
    const lo = i === 0n ? null : (min + (span * i) / n).toString();
    const hi = i === n - 1n ? null : (min + (span * (i + 1n)) / n).toString();
    ranges.push({ index: Number(i), lo, hi, includesNulls: i === 0n });
  }
  return ranges;
}

/** Whether two ranges are the same partition: index, bounds and whether it takes NULL cursors. */
export function samePartition(a: PartitionRange, b: PartitionRange): boolean {
  return (
    a.index === b.index &&
    a.includesNulls === b.includesNulls &&
    sameCursorValue(a.lo, b.lo) &&
    sameCursorValue(a.hi, b.hi)
  );
}

/**
 * Why `ranges` do not partition the whole cursor domain into exactly `count` partitions, or
 * undefined when they do: dense indexes 0..count-1, the first open below and the only one taking
 * NULLs, the last open above, each starting where the one before ends. Finalize checks this before
 * it writes a manifest, so a run whose stored ranges are not the plan's (two runs of one runKey
 * racing) can never claim success over part of the table.
 */
export function coverageProblem(ranges: readonly PartitionRange[], count: number): string | undefined {
  if (ranges.length !== count) return `${ranges.length} ranges stored for ${count} planned partitions`;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (r.index !== i) return `range ${i} has index ${r.index}`;
    if (r.includesNulls !== (i === 0))
      return `range ${i} ${r.includesNulls ? 'takes' : 'does not take'} NULL cursors`;
    if (i === 0 && r.lo !== null) return 'the first range is not open below';
    if (i === ranges.length - 1 && r.hi !== null) return 'the last range is not open above';
    const before = ranges[i - 1];
    if (before && (before.hi === null || !sameCursorValue(before.hi, r.lo))) {
      return `range ${i} starts at ${cursorValueText(r.lo, 'null')}, the one before ends at ${cursorValueText(before.hi, 'null')}`;
    }
  }
  return undefined;
}
