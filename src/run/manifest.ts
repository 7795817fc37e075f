/** `_manifest.json`: the one document a reader needs to trust a run. Written last, then `_SUCCESS`. */
import type { RunMode } from '../contract/incremental.js';
import type { WatermarkRange } from '../contract/incremental.js';

import type { ConsistencyPoint } from '../contract/snapshot.js';
import type { CursorValue } from '../postgres/cursor-key.js';

/**
 * 2: version 1 plus `mode` and `watermark` (a version-1 manifest is a full run's), `consistency`
 * and each partition's `readIn`.
 */
export const MANIFEST_VERSION = 2;
/**
 * 3: version 2 plus `cursorKey`; partition bounds and file cursor min/max are keyset values
 * (arrays with one text per key column). Written only for keyset cursors, so readers of
 * version 2 never meet an array bound.
 */
export const KEYSET_MANIFEST_VERSION = 3;

/** One output column: PostgreSQL's type and the Arrow type it was written as. */
export interface ManifestColumn {
  readonly name: string;
  /** PostgreSQL type, or `null` for the metadata columns the exporter adds. */
  readonly pgType: string | null;
  readonly arrowType: string;
  readonly nullable: boolean;
}

/** One partition: its cursor range and row counts. */
export interface ManifestPartition {
  readonly index: number;
  readonly lo: CursorValue | null;
  readonly hi: CursorValue | null;
  readonly includesNulls: boolean;
  /** Rows PostgreSQL sent (COPY's row count). */
  readonly sourceRows: number;
  /** Rows stored in the files of this partition. */
  readonly rows: number;
  /** `pg_current_snapshot()` of the transaction that read it (null: not recorded). */
  readonly readIn: string | null;
}

/**
 * What the run's rows are consistent with: one exported snapshot for every partition, stated
 * with its point in the database's history; or each partition its own (see `readIn`).
 */
type ManifestConsistency =
  | ({ readonly mode: 'snapshot'; readonly snapshotId: string } & ConsistencyPoint)
  | { readonly mode: 'partition' };

/** One data file of the run. */
export interface ManifestFile {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  readonly rowGroups: number;
  readonly cursorMin: CursorValue | null;
  readonly cursorMax: CursorValue | null;
}

/** The manifest document. */
export interface Manifest {
  readonly version: number;
  /**
   * The table as `source.table` names it: `public.events`; a part that is not a plain lower-case
   * identifier double quoted (`"a.b".c`, `public."Events"`).
   */
  readonly table: string;
  readonly runKey: string;
  readonly extractedAt: string;
  readonly destination: string;
  readonly cursor: string;
  /**
   * A keyset cursor's columns in order, each with its PostgreSQL type (which its texts cast
   * back to) and collation (version 3; absent for integer-form cursors).
   */
  readonly cursorKey?: readonly {
    readonly name: string;
    readonly pgType: string;
    readonly collation: string | null;
  }[];
  readonly where: string | null;
  /** Absent in version 1: `full`. */
  readonly mode?: RunMode;
  /**
   * The rows an incremental run exported: `from < column <= to` (integer form, see the README);
   * null for a full run, absent in version 1.
   */
  readonly watermark?: WatermarkRange | null;
  readonly compression: string;
  readonly consistency: ManifestConsistency;
  /** `raw` when files are the extraction batches, `compacted` when they were merged. */
  readonly layout: 'raw' | 'compacted';
  readonly columns: readonly ManifestColumn[];
  readonly partitions: readonly ManifestPartition[];
  readonly files: readonly ManifestFile[];
  readonly totals: {
    readonly rows: number;
    readonly bytes: number;
    readonly files: number;
    readonly partitions: number;
  };
  readonly createdAt: string;
}
