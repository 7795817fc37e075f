/**
 * Incremental runs, the pure part: which column types can be a watermark, the high-water of a run
 * from what planning saw, and the rule that keeps the ranges of a table's successful runs
 * contiguous and disjoint. Values are in the cursor's integer form (see cursor-kind.ts): integers
 * as themselves, timestamps as microseconds since 1970-01-01 (UTC for timestamptz), as decimal
 * strings compared with BigInt.
 */
import { ErrorType, PgParquetError } from '../contract/errors.js';
import type { WatermarkKind, WatermarkLag, WatermarkRange } from '../contract/incremental.js';
import type { CursorKind } from '../postgres/cursor-kind.js';

/** What `incremental.column` accepts, for messages. */
const WATERMARK_TYPES = 'smallint, integer, bigint, timestamp or timestamptz';

/** The range as planned, with what it was computed from (kept in `_plan.json`). */
export interface PlannedWatermark extends WatermarkRange {
  /** The largest value of the column planning saw (null: no row), before the lag. */
  readonly highest: string | null;
  readonly lag: WatermarkLag | null;
}

/** The range alone (what the manifest and listings show), without how it was computed. */
export function watermarkRangeOf(w: WatermarkRange): WatermarkRange {
  return {
    column: w.column,
    pgType: w.pgType,
    kind: w.kind,
    from: w.from,
    to: w.to,
    previousRunKey: w.previousRunKey,
  };
}

/**
 * The watermark kind of a column, or a typed error naming the field, the column's type and what
 * is accepted; also when the lag does not fit the column (id values for a timestamp, a duration
 * for an integer).
 */
export function watermarkKindOf(column: {
  readonly name: string;
  readonly pgType: string;
  readonly cursorKind: CursorKind | undefined;
  readonly lag: WatermarkLag | null;
}): WatermarkKind {
  const kind = column.cursorKind;
  if (kind === undefined || kind === 'date') {
    throw new PgParquetError(
      ErrorType.UnsupportedWatermark,
      `invalid incremental.column: "${column.name}" has type ${column.pgType}; accepted: a column of type ` +
        `${WATERMARK_TYPES} whose values only grow (an id from a sequence, an updated_at set on every write)`,
      false,
      { field: 'incremental.column', value: column.name, pgType: column.pgType, accepted: WATERMARK_TYPES },
    );
  }
  const wanted = kind === 'integer' ? 'ids' : 'duration';
  if (column.lag !== null && column.lag.kind !== wanted) {
    const accepted =
      kind === 'integer'
        ? `a non-negative integer (id values) for the ${column.pgType} column "${column.name}"`
        : `a duration such as "5 minutes" for the ${column.pgType} column "${column.name}"`;
    throw new PgParquetError(
      ErrorType.InvalidInput,
      `invalid incremental.lag: ${JSON.stringify(lagValue(column.lag))}; accepted: ${accepted}`,
      false,
      { field: 'incremental.lag', value: lagValue(column.lag), accepted },
    );
  }
  return kind;
}

function lagValue(lag: WatermarkLag): number | string {
  return lag.kind === 'ids' ? lag.amount : lag.text;
}

/** What the high-water of a run is computed from. */
export interface HighWaterInput {
  readonly kind: WatermarkKind;
  /** The previous run's `to` (this run's exclusive lower bound), or null. */
  readonly from: string | null;
  /** The largest value of the column in the planning transaction, or null for no row. */
  readonly highest: string | null;
  /** The planning transaction's time in the column's integer form (timestamps only). */
  readonly now: string | null;
  readonly lag: WatermarkLag | null;
}

/**
 * The run's inclusive upper bound: for an integer column the largest id less the lag; for a
 * timestamp column the largest value, but no later than the planning transaction's time less the
 * lag (so a quiet table is exported completely once the lag has passed, and rows stamped in the
 * future wait for their time). Never below `from`: a run after a lag that grew, or after deletes,
 * exports nothing rather than going back.
 */
export function highWater(input: HighWaterInput): string | null {
  if (input.highest === null) return input.from;
  let to = BigInt(input.highest);
  const lag = input.lag;
  if (input.kind === 'integer') {
    if (lag?.kind === 'ids') to -= BigInt(lag.amount);
  } else if (input.now !== null) {
    const limit = BigInt(input.now) - BigInt(lag?.kind === 'duration' ? lag.micros : 0);
    if (limit < to) to = limit;
  }
  if (input.from !== null && to < BigInt(input.from)) return input.from;
  return to.toString();
}

/** A successful run next to the one being checked, by runKey. */
export interface WatermarkNeighbour {
  readonly runKey: string;
  readonly watermark: WatermarkRange;
}

/**
 * Why `range` may not become a successful run of its table, or undefined when it may: the newest
 * successful run before it must end where it starts or before (later than that would overlap;
 * before it is a gap left by deleted runs), the oldest successful run after it must start where it
 * ends or after, and both must use the same column. This keeps the successful runs' ranges
 * disjoint whatever order runs were planned and finished in: of two runs planned over the same
 * rows (one planned while the other was unfinished), whichever finishes second is refused.
 */
export function chainProblem(
  range: WatermarkRange,
  previous: WatermarkNeighbour | undefined,
  next: WatermarkNeighbour | undefined,
): string | undefined {
  for (const n of [previous, next]) {
    if (n && n.watermark.column !== range.column) {
      return `successful run ${n.runKey} used the watermark column "${n.watermark.column}", not "${range.column}"`;
    }
  }
  if (previous && compareBound(previous.watermark.to, range.from) > 0) {
    return (
      `successful run ${previous.runKey} exported up to ${previous.watermark.to}, beyond this run's ` +
      `start (${range.from ?? 'none'}): the ranges would overlap`
    );
  }
  if (next && compareBound(next.watermark.from, range.to) < 0) {
    return (
      `successful run ${next.runKey} starts after ${next.watermark.from ?? 'nothing'}, before this run's ` +
      `end (${range.to ?? 'none'}): the ranges would overlap`
    );
  }
  return undefined;
}

/** Orders bounds with null (no bound, nothing exported) below every value. */
function compareBound(a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A bound as people read it: the integer itself, or the timestamp in ISO 8601 with microseconds
 * (`Z` for timestamptz, none for a timestamp without time zone); `-` for null.
 */
export function watermarkText(kind: WatermarkKind, value: string | null): string {
  if (value === null) return '-';
  if (kind === 'integer') return value;
  const micros = BigInt(value);
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const sub = micros - millis * 1000n;
  const iso = new Date(Number(millis)).toISOString();
  const text = `${iso.slice(0, 23)}${sub.toString().padStart(3, '0')}`;
  return kind === 'timestamptz' ? `${text}Z` : text;
}
