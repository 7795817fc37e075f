/** The persisted plan of one run (`_plan.json`): what re-runs of the same runKey must reuse. */
import type { ColumnSpec } from '../arrow/column-spec.js';
import type { RunMode } from '../contract/incremental.js';
import type { TypeOptions } from '../contract/type-options.js';
import type { PlannedWatermark } from '../plan/watermark.js';
import type { KeyColumn } from '../postgres/cursor-key.js';
import type { PlanCursorKind } from '../postgres/copy-query.js';
import { PARTITIONS_PER_CHUNK } from '../contract/chunks.js';
import type { QualifiedName } from '../contract/table-name.js';

/**
 * 3: the output layout of issue 11 (data files directly in the run folder, batches of compacted
 * runs under `_raw/`, markers under `_partitions/`). A runKey planned by an earlier version fails
 * with PgParquetPlanMismatch rather than mixing two layouts in one run folder.
 */
export const RUN_PLAN_VERSION = 3;
/**
 * 4: version 3 plus `mode` and `watermark`. Only incremental plans are written as 4, so that a
 * worker of an earlier version refuses them (it would export every row, not the run's range)
 * while it still runs full plans made by this one.
 */
export const INCREMENTAL_PLAN_VERSION = 4;
/**
 * 5: version 3 or 4 (a full or an incremental run, by `mode`) plus what a worker of an earlier
 * version would silently get wrong: a keyset cursor (`cursorKey`: bounds are arrays of texts), a
 * `tieBreaker` (ORDER BY columns after a non-unique cursor), `cursorKind: "ctid"` (page ranges),
 * or columns with an Arrow extension type (`transform.uuidAs: "uuid"`, `jsonAs: "json"`:
 * `ColumnSpec.extension`). Only such plans are written as 5, so that an earlier worker refuses
 * them (it would read an array bound as an integer, order ties differently, or write those
 * columns as strings into the same run) while it still runs the others.
 */
export const EXTENDED_PLAN_VERSION = 5;
/** The plan versions this version reads (same layout; 3 is a full run). */
export const READABLE_PLAN_VERSIONS: readonly number[] = [
  RUN_PLAN_VERSION,
  INCREMENTAL_PLAN_VERSION,
  EXTENDED_PLAN_VERSION,
];
/**
 * Partition ranges are stored in chunks of this many, and the workflow works chunk by chunk, so
 * neither an activity payload nor one workflow run's history grows with the partition count.
 */
export const RANGES_PER_CHUNK = PARTITIONS_PER_CHUNK;

/** Everything that fixes the output of a run: re-running the runKey reuses it as stored. */
export interface RunPlan {
  readonly version: number;
  readonly table: QualifiedName;
  readonly runKey: string;
  /** ISO instant written into `_extracted_at`: the first run's start time. */
  readonly extractedAt: string;
  /** The cursor column (a composite key's leading column: the key is `cursorKey`). */
  readonly cursor: string;
  readonly cursorPgType: string;
  /**
   * How cursor values are written as integers (plan ranges, resume points, manifest min/max),
   * or `keyset`: as one text per column of `cursorKey` (see src/postgres/cursor-key.ts); or
   * `ctid`: the ranges are heap page numbers (version 5, only under `consistency: "snapshot"`).
   */
  readonly cursorKind: PlanCursorKind;
  /** The key columns of a keyset cursor (version 5). */
  readonly cursorKey?: readonly KeyColumn[];
  /** ORDER BY columns after a non-unique cursor, so re-runs are byte-identical (version 5). */
  readonly tieBreaker?: readonly string[];
  /** Whether a unique index covers exactly the cursor (then a partition can resume mid-range). */
  readonly cursorUnique: boolean;
  /** The user's `source.where`, as given (re-runs must give the same). */
  readonly where: string | null;
  /**
   * The filter that runs (see where-filter.ts): the checked `where` as the parser prints it, its
   * time-relative values bound at planning. Absent in plans of earlier versions: `where` runs.
   */
  readonly whereSql?: string | null;
  /** Absent in full plans (version 3): `full`. */
  readonly mode?: RunMode;
  /** The rows of an incremental run (`mode: "incremental"`), taken at planning: reused as stored. */
  readonly watermark?: PlannedWatermark | null;
  readonly columns: readonly ColumnSpec[];
  /** The type options the columns were planned with (absent in plans of earlier versions). */
  readonly typeOptions?: TypeOptions;
  /**
   * Whether raw files are written in the intermediate format that only a rewriting compaction
   * reads (absent in plans of earlier versions).
   */
  readonly intermediateRaw?: boolean;
  /**
   * Whether compaction merges the batches into data files (batches staged under `_raw/`) or the
   * batches are the data files (stored in the run folder). Fixes where extraction writes.
   */
  readonly compacted: boolean;
  /** What the ranges were balanced on: PostgreSQL's histogram, a sample, or equal id spans. */
  readonly balance: 'pg_stats' | 'sample' | 'minmax';
  /** Number of partitions; their ranges are in `_plan/ranges-<chunk>.json`. */
  readonly partitionCount: number;
  readonly sourceBytes: number;
  /** Rows PostgreSQL estimates for the table (`reltuples`; null with a filter or before ANALYZE). */
  readonly estimatedRows?: number | null;
  readonly warnings: readonly string[];
}

/** The row filter a plan's extraction runs: its checked `whereSql`, or (earlier plans) the `where` as given. */
export function planWhereSql(plan: Pick<RunPlan, 'where' | 'whereSql'>): string | null {
  return plan.whereSql === undefined ? plan.where : plan.whereSql;
}
