/**
 * The input side of incremental runs: `mode`, `incremental.column` and `incremental.lag`, and how
 * a lag is written. Pure and deterministic (the workflow validates with it), like export-input.ts,
 * which holds the fields in its schema and calls {@link resolveWatermarkSpec}.
 */
import { InputError } from './errors.js';
import { parseColumnName } from './table-name.js';

/** `full` exports every row; `incremental` the rows whose watermark passed since the last run. */
export const RUN_MODES = ['full', 'incremental'] as const;
/** One of {@link RUN_MODES}. */
export type RunMode = (typeof RUN_MODES)[number];

/**
 * How far a run's high-water stays behind what the source shows, so that transactions that commit
 * late (after the high-water was taken, with an older watermark value) still land in the next run:
 * a number of id values for an integer column, a duration for a timestamp column.
 */
export type WatermarkLag =
  | { readonly kind: 'ids'; readonly amount: number }
  | { readonly kind: 'duration'; readonly micros: number; readonly text: string };

/** An incremental run's watermark, as the input asks for it. */
export interface WatermarkSpec {
  /** The parsed column name (unquoted). */
  readonly column: string;
  /** The lag, or null for none. */
  readonly lag: WatermarkLag | null;
}

/** Longest lag accepted: a year (a longer one is almost certainly a unit mistake). */
const MAX_LAG_MICROS = 366 * 86_400_000_000;

const MICROS_PER_UNIT: Record<string, number> = {
  us: 1,
  microsecond: 1,
  ms: 1_000,
  millisecond: 1_000,
  s: 1_000_000,
  sec: 1_000_000,
  second: 1_000_000,
  m: 60_000_000,
  min: 60_000_000,
  minute: 60_000_000,
  h: 3_600_000_000,
  hour: 3_600_000_000,
  d: 86_400_000_000,
  day: 86_400_000_000,
  w: 604_800_000_000,
  week: 604_800_000_000,
};

/** What `incremental.lag` accepts, for messages and the JSON Schema. */
export const LAG_ACCEPTED =
  'null (no lag), a non-negative integer (id values, for an integer column) or a duration up to 366 days ' +
  'for a timestamp column: whole numbers with units, e.g. "5 minutes", "90s", "1 hour 30 min" ' +
  '(units us, ms, s, min, h, d, w and their long forms; no months or years, which have no fixed length)';

/**
 * A duration such as `"5 minutes"`, `"90s"` or `"1 hour 30 min"` in microseconds, or undefined when
 * the text is not one (or exceeds 366 days). Only units of fixed length are accepted.
 */
export function parseDuration(text: string): number | undefined {
  const parts = /^\s*(\d+\s*[a-z]+\s*)+$/i.test(text) ? text.matchAll(/(\d+)\s*([a-z]+)/gi) : [];
  let micros = 0;
  let any = false;
  for (const [, amount, unit] of parts) {
    const lower = unit!.toLowerCase();
    const per = MICROS_PER_UNIT[lower] ?? MICROS_PER_UNIT[lower.replace(/s$/, '')];
    if (per === undefined) return undefined;
    micros += Number(amount) * per;
    any = true;
  }
  return any && micros <= MAX_LAG_MICROS ? micros : undefined;
}

/**
 * The watermark of the run from the input's `mode` and `incremental` (already checked by the
 * schema for their shape), or null for a full run.
 * @throws InputError naming `incremental.column`, `incremental.lag` or `mode`.
 */
export function resolveWatermarkSpec(
  mode: RunMode,
  incremental: { readonly column: string | null; readonly lag: number | string | null },
): WatermarkSpec | null {
  if (mode === 'full') {
    if (incremental.column !== null || incremental.lag !== null) {
      // An incremental setting with the default mode is almost surely a forgotten `mode`: a full
      // export in its place would silently re-export the whole table.
      throw new InputError(
        'mode',
        mode,
        '"incremental" when incremental.column or incremental.lag is set (or leave incremental out)',
      );
    }
    return null;
  }
  if (incremental.column === null) {
    throw new InputError(
      'incremental.column',
      null,
      'the watermark column of an incremental run: an increasing integer id or a timestamp/timestamptz column such as updated_at',
    );
  }
  const column = parseColumnName(incremental.column, 'incremental.column');
  const lag = incremental.lag;
  if (lag === null) return { column, lag: null };
  if (typeof lag === 'number') return { column, lag: { kind: 'ids', amount: lag } };
  const micros = parseDuration(lag);
  if (micros === undefined) throw new InputError('incremental.lag', lag, LAG_ACCEPTED);
  return { column, lag: { kind: 'duration', micros, text: lag } };
}

/**
 * The column kinds a watermark can have, by their cursor kind's name (cursor-kind.ts): a date
 * cannot be one, since a day's rows keep arriving all day.
 */
export type WatermarkKind = 'integer' | 'timestamp' | 'timestamptz';

/** The rows one incremental run exports: `from < column <= to`. Stored in the plan and the manifest. */
export interface WatermarkRange {
  readonly column: string;
  /** The column's PostgreSQL type, as introspection names it. */
  readonly pgType: string;
  readonly kind: WatermarkKind;
  /** Exclusive lower bound (integer form); null for the first run of the table: no lower bound. */
  readonly from: string | null;
  /** Inclusive upper bound (integer form); null while nothing is exported yet (an empty table). */
  readonly to: string | null;
  /** The successful run whose `to` this run's `from` is, or null for the first run. */
  readonly previousRunKey: string | null;
}
