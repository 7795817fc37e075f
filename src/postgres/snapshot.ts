/**
 * Exporting and importing snapshots. A holder transaction exports its snapshot; planning and
 * extraction transactions import it, so that all of a run's reads see one moment of the table.
 */
import type pg from 'pg';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { isSnapshotId, type ConsistencyPoint, type RunSnapshot } from '../contract/snapshot.js';
import { isPgDatabaseError } from './sqlstate.js';

/** Where the current transaction's snapshot stands (see {@link ConsistencyPoint}). */
const POINT_SQL = `SELECT pg_current_snapshot()::text AS snapshot,
    (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
    to_json(statement_timestamp())#>>'{}' AS taken_at, pg_is_in_recovery() AS standby`;

/** SQLSTATEs of servers (or poolers) that cannot export or import a snapshot. */
const UNSUPPORTED = new Set(['0A000' /* feature_not_supported */, '42883' /* undefined_function */]);

/**
 * Opens a READ ONLY, REPEATABLE READ transaction on `client` and exports its snapshot. The
 * snapshot stays importable while this transaction is open: the caller keeps it open.
 * @throws PgParquetError `PgParquetSnapshotUnsupported` when the server cannot export snapshots.
 */
export async function exportSnapshot(client: pg.Client): Promise<RunSnapshot> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const { rows } = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    return { id: rows[0]!.id, point: await consistencyPoint(client) };
  } catch (err) {
    if (isPgDatabaseError(err) && UNSUPPORTED.has(err.code)) {
      throw new PgParquetError(
        ErrorType.SnapshotUnsupported,
        `the source cannot export a snapshot (SQLSTATE ${err.code}); set consistency: "partition" to read each partition in its own`,
        false,
        { field: 'consistency', value: 'snapshot', sqlState: err.code },
      );
    }
    throw err;
  }
}

/**
 * Begins the READ ONLY, REPEATABLE READ transaction a run reads in: in the run's snapshot when
 * `snapshotId` is given, else in a snapshot of its own. Returns the snapshot it reads
 * (`pg_current_snapshot()`), which partition markers and the manifest record.
 * @throws PgParquetError `PgParquetSnapshotLost` (terminal) when the snapshot is no longer
 *   exported: its holder's transaction has ended.
 */
export async function beginRead(client: pg.Client, snapshotId: string | null): Promise<ConsistencyPoint> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  if (snapshotId !== null) {
    // The id is checked against the form PostgreSQL gives it, so it is safe as a literal
    // (SET TRANSACTION SNAPSHOT takes no parameters).
    if (!isSnapshotId(snapshotId)) {
      throw new PgParquetError(
        ErrorType.SnapshotLost,
        `not a snapshot id: ${JSON.stringify(snapshotId)}`,
        false,
        {
          snapshotId,
        },
      );
    }
    try {
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshotId}'`);
    } catch (err) {
      // 22023: "invalid snapshot identifier": the exporting transaction has ended.
      if (isPgDatabaseError(err) && err.code === '22023') throw snapshotLost(snapshotId);
      throw err;
    }
  }
  return consistencyPoint(client);
}

/** The run's snapshot is gone: its holder's transaction has ended. */
function snapshotLost(snapshotId: string): PgParquetError {
  return new PgParquetError(
    ErrorType.SnapshotLost,
    `the run's snapshot ${snapshotId} is no longer exported (its holder's worker or connection ended)`,
    false,
    { snapshotId },
  );
}

async function consistencyPoint(client: pg.Client): Promise<ConsistencyPoint> {
  const { rows } = await client.query<{
    snapshot: string;
    lsn: string | null;
    taken_at: string;
    standby: boolean;
  }>(POINT_SQL);
  const r = rows[0]!;
  return {
    snapshot: r.snapshot,
    lsn: r.lsn,
    takenAt: new Date(r.taken_at).toISOString(),
    standby: r.standby,
  };
}
