/**
 * Snapshot-taking activity body. It opens a holder transaction that exports the run's snapshot
 * and returns at once: the transaction stays open in this worker process, not in a running
 * activity, so a held snapshot takes no activity slot (a worker with four slots and four
 * tables in flight would otherwise have none left to extract with). While it is held, the
 * holder asks the run every few seconds whether the run still wants it, and ends the
 * transaction when the run says no, is closed, or cannot be asked for a long time.
 *
 * Correctness does not depend on the holder: every reader imports the snapshot by id, and an
 * import fails (`PgParquetSnapshotLost`) once the holder's transaction has ended, so no
 * partition is ever read in a snapshot other than the one it claims.
 */
import type pg from 'pg';
import type { RunSnapshot } from '../contract/snapshot.js';
import { connect, resolveConnection } from '../postgres/connection.js';
import { exportSnapshot } from '../postgres/snapshot.js';

/** Input of the snapshot activity. */
export interface TakeSnapshotInput {
  readonly connection: string;
  /** Workflow id of the run (or the exportTables parent) that owns the snapshot. */
  readonly owner: string;
}

/** How a holder learns whether its run still wants the snapshot. */
export interface SnapshotOwner {
  /** True while the owner runs and wants `snapshotId`; throws when it cannot be asked. */
  wants(snapshotId: string): Promise<boolean>;
}

/** Dependencies of {@link takeSnapshot}. */
export interface TakeSnapshotDeps {
  readonly resolveConnection?: typeof resolveConnection;
  /** Builds the check for one owner (the activity adapter asks Temporal). */
  readonly owner: (workflowId: string) => SnapshotOwner;
  /** Timings (tests shorten them). */
  readonly timing?: Partial<HolderTiming>;
}

/** How often a holder checks its connection and its owner, and how long it waits for an answer. */
interface HolderTiming {
  /** A `SELECT 1` in the holder transaction: finds a dead backend, keeps the session busy. */
  readonly keepAliveMs: number;
  /** Between two questions to the owner. */
  readonly askEveryMs: number;
  /** With no answer from the owner for this long, release. */
  readonly giveUpAfterMs: number;
}

/**
 * `application_name` of a holder's session: a DBA sees in pg_stat_activity what keeps a snapshot
 * open, and for which run (the end of its workflow id: PostgreSQL keeps 63 bytes of the name).
 */
export function holderApplicationName(owner: string): string {
  return `pg-parquet snapshot ...${owner.slice(-40)}`;
}

/**
 * Asked every 10 s; with no answer for 2 min (Temporal or every workflow worker down, or this
 * worker shutting down) the snapshot is let go: a run that still wanted it finds it lost and
 * replaces it, so a long outage costs a re-read, never a wrong claim.
 */
const DEFAULT_TIMING: HolderTiming = { keepAliveMs: 5_000, askEveryMs: 10_000, giveUpAfterMs: 2 * 60_000 };

/** Exports a snapshot for `input.owner` and keeps its transaction open until the owner lets go. */
export async function takeSnapshot(input: TakeSnapshotInput, deps: TakeSnapshotDeps): Promise<RunSnapshot> {
  const config = (deps.resolveConnection ?? resolveConnection)(input.connection);
  const client = await connect({ ...config, application_name: holderApplicationName(input.owner) });
  try {
    const snapshot = await exportSnapshot(client);
    // It lives on through its timer (which a process exit ends, and the transaction with it).
    new HeldTransaction(client, snapshot.id, deps.owner(input.owner), { ...DEFAULT_TIMING, ...deps.timing });
    return snapshot;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** One open holder transaction and its checks. */
class HeldTransaction {
  private readonly timer: NodeJS.Timeout;
  private lastAnswer = Date.now();
  private lastAsked = 0;
  private busy = false;
  private ended = false;

  constructor(
    private readonly client: pg.Client,
    private readonly id: string,
    private readonly owner: SnapshotOwner,
    private readonly timing: HolderTiming,
  ) {
    // The session's own errors (a terminated backend) end the hold; they must not crash the worker.
    client.on('error', () => void this.end());
    this.timer = setInterval(() => void this.tick(), timing.keepAliveMs);
    // A held snapshot does not keep a worker process alive (neither its timer nor its socket):
    // the process's exit closes the session, and the server ends the transaction with it.
    this.timer.unref();
    (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.ended) return;
    this.busy = true;
    try {
      await this.client.query('SELECT 1');
      const now = Date.now();
      if (now - this.lastAsked >= this.timing.askEveryMs) {
        this.lastAsked = now;
        const wanted = await this.owner.wants(this.id).then(
          (w) => {
            this.lastAnswer = Date.now();
            return w;
          },
          () => Date.now() - this.lastAnswer < this.timing.giveUpAfterMs,
        );
        if (!wanted) await this.end();
      }
    } catch {
      // The backend is gone: the snapshot is lost; readers find out when they import it.
      await this.end();
    } finally {
      this.busy = false;
    }
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    await this.client.query('COMMIT').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
