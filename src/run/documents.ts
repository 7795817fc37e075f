/** The JSON documents a run stores beside its data, other than the plan and the manifest. */
import type { PartitionRange } from '../plan/partitions.js';
import type { ConsistencyPoint } from '../contract/snapshot.js';
import type { CursorValue } from '../postgres/cursor-key.js';

/** One stored raw batch file. */
export interface BatchFile {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  /** First and last row's cursor (integer form, or a keyset value); null when NULL or unknown. */
  readonly cursorMin: CursorValue | null;
  readonly cursorMax: CursorValue | null;
}

/** `_partitions/part=<p>.json`: what a finished partition stored. Its presence means the partition is done. */
export interface PartitionStats {
  readonly partition: PartitionRange;
  /** Rows PostgreSQL reported for the COPY. */
  readonly sourceRows: number;
  /** Rows in the stored files (checked against each file's footer). */
  readonly rows: number;
  readonly bytes: number;
  readonly files: readonly BatchFile[];
  /** The snapshot the partition was read in. Absent in markers of earlier versions. */
  readonly readIn?: PartitionReadIn;
}

/**
 * Where a partition was read: the run's exported snapshot (its id and point), or a snapshot of
 * the finishing attempt's own (`snapshotId` null); `mixed` when it resumed after batches that
 * were read in another snapshot (then no single snapshot holds for the partition).
 */
export type PartitionReadIn = ConsistencyPoint & {
  readonly snapshotId: string | null;
  readonly mixed: boolean;
};

/**
 * Version of `_compaction.json`; 1 held every group inline, 2 keeps them in chunk documents, 3 in
 * chunk documents under `_compaction/<groupsId>/` (the digest of the group list), create-only.
 */
export const COMPACTION_PLAN_VERSION = 3;

/**
 * `_compaction.json`: the totals of a run's compaction plan. The groups (which raw files each
 * data file merges) are in `_compaction/groups-<chunk>.json`, so one compaction activity reads
 * one chunk, not the whole run's plan. Written after its chunks: its presence implies them.
 */
export interface CompactionSummary {
  readonly version: number;
  readonly targetFileBytes: number;
  /** Number of data files (groups). */
  readonly groups: number;
  readonly rows: number;
  /** Digest of the group list: the folder of its chunks (absent in version 2: directly under `_compaction/`). */
  readonly groupsId?: string;
}

/** Version of `_latest.json`. */
export const LATEST_RUN_VERSION = 1;

/**
 * `<schema>.<table>/_latest.json`: the newest successful run of a table (the greatest runKey whose
 * `_SUCCESS` was written). Keys are relative to the destination.
 */
export interface LatestRun {
  readonly version: number;
  readonly table: string;
  readonly runKey: string;
  /** `<schema>.<table>/run=<runKey>/`: the folder to point a reader at. */
  readonly runPrefix: string;
  readonly manifestKey: string;
  readonly successKey: string;
  readonly extractedAt: string;
  readonly totals: {
    readonly rows: number;
    readonly bytes: number;
    readonly files: number;
    readonly partitions: number;
  };
}
