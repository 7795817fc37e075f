/**
 * A run's PostgreSQL snapshot as the workflow, the activities and the manifest see it. With
 * `consistency: "snapshot"`, one transaction exports its snapshot (`pg_export_snapshot()`) and
 * every planning and extraction transaction of the run imports it (`SET TRANSACTION SNAPSHOT`),
 * so all partitions see the table as of one moment.
 */

/** `consistency` of the workflow input, as resolved: what a run promises about its partitions. */
export type ConsistencyMode = 'snapshot' | 'partition';

/** Where a snapshot stands in the database's history: what the manifest states. */
export interface ConsistencyPoint {
  /** `pg_current_snapshot()` inside the snapshot: `xmin:xmax:xip,…`. */
  readonly snapshot: string;
  /**
   * The WAL position when the snapshot was taken: `pg_current_wal_lsn()` on a primary,
   * `pg_last_wal_replay_lsn()` on a standby; null when the server does not say.
   */
  readonly lsn: string | null;
  /** The server's clock when the snapshot was taken (ISO 8601). */
  readonly takenAt: string;
  /** True when the snapshot was taken on a hot standby. */
  readonly standby: boolean;
}

/** A snapshot exported by a holder transaction, for other transactions of the run to import. */
export interface RunSnapshot {
  /** The id `pg_export_snapshot()` returned (valid while the holder's transaction is open). */
  readonly id: string;
  readonly point: ConsistencyPoint;
}

/**
 * The query a worker that holds a run's snapshot asks the run's workflow (by workflow id, so it
 * reaches the run after a continue-as-new), with the snapshot id: true while the run still
 * needs it. The holder ends its transaction when the answer is false or the run is closed.
 */
export const SNAPSHOT_WANTED_QUERY = 'pgParquetSnapshotWanted';

/**
 * How often a lost snapshot is replaced in one run before it fails with `PgParquetSnapshotLost`:
 * each replacement re-extracts every partition under the new snapshot.
 */
export const MAX_SNAPSHOT_RESTARTS = 3;

/** Exported snapshot ids: `<hex>-<hex>-<n>` (PostgreSQL 9.2 to 17). */
const SNAPSHOT_ID = /^[0-9A-F]{8}-[0-9A-F]{8}-[0-9]+$/i;

/** Whether `id` has the form of an exported snapshot id (it is then safe as a SQL literal). */
export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}
