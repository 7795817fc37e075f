/**
 * The workflow side of a run's snapshot: takes it through an activity, answers the holder's
 * "still wanted?" query, and lets go of it. Deterministic: the snapshot itself lives in a worker
 * process (see src/export/take-snapshot.ts); the workflow only knows its id and point.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { PgParquetActivities } from '../activities/index.js';
import { ErrorType } from '../src/contract/errors.js';
import { SNAPSHOT_WANTED_QUERY, type ConsistencyMode, type RunSnapshot } from '../src/contract/snapshot.js';

const snapshotWanted = defineQuery<boolean, [string]>(SNAPSHOT_WANTED_QUERY);

const snapshots = proxyActivities<PgParquetActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});

/** What a run says about its consistency (progress query, continue-as-new). */
export interface RunConsistency {
  readonly mode: ConsistencyMode;
  /** The snapshot the run reads in now (mode "snapshot"), or null before it is taken. */
  readonly snapshot: RunSnapshot | null;
  /** Snapshots lost and replaced so far in this run. */
  readonly restarts: number;
  /** True once every read of the run is done in it and the holder may let go. */
  readonly released?: boolean;
  /** The snapshot belongs to an exportTables parent: the run cannot replace it. */
  readonly shared?: boolean;
}

/** Whether an activity failed because the run's snapshot ended. */
export function isSnapshotLost(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === ErrorType.SnapshotLost
  );
}

/** One run's hold on its snapshot. */
export class SnapshotHold {
  private wanted: RunSnapshot | null;

  /** Registers the query the holder asks; a snapshot not released is held already (after continue-as-new). */
  constructor(consistency: RunConsistency) {
    this.wanted = consistency.released ? null : consistency.snapshot;
    setHandler(snapshotWanted, (id) => this.wanted?.id === id);
  }

  /**
   * Takes a snapshot for `owner` (this workflow's id). With `required` false, a server that
   * cannot export one gives null (the caller falls back to one snapshot per partition).
   */
  async take(options: { connection: string; owner: string; required: boolean }): Promise<RunSnapshot | null> {
    try {
      this.wanted = await snapshots.pgParquetTakeSnapshot({
        connection: options.connection,
        owner: options.owner,
      });
      return this.wanted;
    } catch (err) {
      const unsupported =
        err instanceof ActivityFailure &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === ErrorType.SnapshotUnsupported;
      if (unsupported && !options.required) return null;
      throw err;
    }
  }

  /** Lets go: the holder ends its transaction at its next question (within seconds). */
  release(): void {
    this.wanted = null;
  }
}
