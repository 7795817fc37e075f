/** The persisted plan of one run (`_plan.json`): what re-runs of the same runKey must reuse. */
import type { ColumnSpec } from '../arrow/column-spec.js';
import type { RunMode } from '../contract/incremental.js';
import type { MetadataColumnNames } from '../contract/export-input.js';
import type { TypeOptions } from '../contract/type-options.js';
import type { PlannedWatermark } from '../plan/watermark.js';
import type { KeyColumn } from '../postgres/cursor-key.js';
import type { PlanCursorKind } from '../postgres/copy-query.js';
import { PARTITIONS_PER_CHUNK } from '../contract/chunks.js';
import type { QualifiedName } from '../contract/table-name.js';
import type { PartitionRange } from '../plan/partitions.js';

/**
 * 3: the output layout of issue 11 (data files directly in the run folder, batches of compacted
 * runs under `_raw/`, markers under `_partitions/`). A runKey planned by an earlier version fails
 * with PgParquetPlanMismatch rather than mixing two layouts in one run folder.
 * 4: version 3 plus `mode` and `watermark` (incremental runs only).
 * 5 and 6: 3 and 4 with `rangesId`: the ranges sit under `_plan/<rangesId>/` with the partition
 * count beside them, and the run's decisive documents are create-only. Earlier workers refuse
 * these versions (they would look for the ranges directly under `_plan/`), which also keeps them
 * off what they would silently get wrong in plans of this version: a keyset cursor (`cursorKey`:
 * bounds are arrays of texts), a `tieBreaker` (ORDER BY columns after a non-unique cursor),
 * `cursorKind: "ctid"` (page ranges), columns with an Arrow extension type (`transform.uuidAs:
 * "uuid"`, `jsonAs: "json"`: `ColumnSpec.extension`), a checked `whereSql`.
 */
export const RUN_PLAN_VERSION = 5;
/**
 * Only incremental plans are written with this version, so that a worker of an earlier version
 * refuses them (it would export every row, not the run's range) while it still runs full plans.
 */
export const INCREMENTAL_PLAN_VERSION = 6;
/** The plan versions this version reads (same layout; 3 and 5 are full runs, 4 and 6 incremental). */
export const READABLE_PLAN_VERSIONS: readonly number[] = [3, 4, RUN_PLAN_VERSION, INCREMENTAL_PLAN_VERSION];
/**
 * Partition ranges are stored in chunks of this many, and the workflow works chunk by chunk, so
 * neither an activity payload nor one workflow run's history grows with the partition count.
 */
export const RANGES_PER_CHUNK = PARTITIONS_PER_CHUNK;

/** `_plan/<rangesId>/ranges-<chunk>.json` (plan versions 5 and 6): a chunk and the count it belongs to. */
export interface RangesChunk {
  /** The plan's partition count, recorded with its ranges (the coverage proof checks it). */
  readonly partitionCount: number;
  readonly ranges: readonly PartitionRange[];
}

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
   * The metadata column names every batch of the run carries (`transform.extractedAtColumn`,
   * `transform.extractionIdColumn`): part of the files' schema, so a re-run or a concurrent run
   * with other names is refused rather than mixing two schemas in one run (absent in plans of
   * earlier versions, which are not checked).
   */
  readonly metadataColumns?: MetadataColumnNames;
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
  /** Number of partitions; their ranges are in `_plan/<rangesId>/ranges-<chunk>.json`. */
  readonly partitionCount: number;
  /**
   * Digest of the whole range list (see `rangesKey`): names the folder of the range chunks and
   * proves at finalize that the ranges read are the ones planned. Absent in plans of version 3
   * and 4 (chunks directly under `_plan/`).
   */
  readonly rangesId?: string;
  readonly sourceBytes: number;
  /** Rows PostgreSQL estimates for the table (`reltuples`; null with a filter or before ANALYZE). */
  readonly estimatedRows?: number | null;
  readonly warnings: readonly string[];
}

/** The row filter a plan's extraction runs: its checked `whereSql`, or (earlier plans) the `where` as given. */
export function planWhereSql(plan: Pick<RunPlan, 'where' | 'whereSql'>): string | null {
  return plan.whereSql === undefined ? plan.where : plan.whereSql;
}
