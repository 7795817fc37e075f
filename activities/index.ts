/**
 * The activities of the plugin: thin adapters from Temporal's activity context (heartbeats,
 * cancellation) to the implementations in src/. Dependencies are injected so that tests and
 * applications can swap the object store or the connection resolution.
 */
import { Context } from '@temporalio/activity';
import {
  extractPartition,
  type ExtractPartitionInput,
  type ExtractPartitionResult,
} from '../src/export/extract-partition.js';
import {
  compactGroup,
  planCompaction,
  type CompactGroupInput,
  type CompactGroupResult,
  type PlanCompactionInput,
  type PlanCompactionResult,
} from '../src/export/compact.js';
import {
  finalizeExport,
  type FinalizeExportInput,
  type FinalizeExportResult,
} from '../src/export/finalize-export.js';
import {
  planExport,
  planRanges,
  type PlanExportInput,
  type PlanExportResult,
  type PlanRangesInput,
} from '../src/export/plan-export.js';
import {
  completedRuns,
  listTables,
  type CompletedRun,
  type CompletedRunsInput,
  type ListTablesInput,
} from '../src/export/list-tables.js';
import type { QualifiedName } from '../src/contract/table-name.js';
import type { PartitionRange } from '../src/plan/partitions.js';
import type { resolveConnection } from '../src/postgres/connection.js';
import { openObjectStore } from '../src/storage/destination.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import type { ParquetEncoder } from '../src/parquet/encoder.js';
import { takeSnapshot, type SnapshotOwner, type TakeSnapshotInput } from '../src/export/take-snapshot.js';
import { SNAPSHOT_WANTED_QUERY, type RunSnapshot } from '../src/contract/snapshot.js';
import { withFailureMapping } from './failures.js';
import { withPulse } from './heartbeat-pulse.js';
import { progressReporter } from './progress-reports.js';

/** What the activities depend on; every field has a production default. */
export interface ActivityDeps {
  /** Connection name → pg settings (default: DATABASE_URL / PG* / PG_PARQUET_CONNECTION_<NAME>). */
  readonly resolveConnection?: typeof resolveConnection;
  /** Destination URL → object store (default: S3 or local files). */
  readonly openStore?: (url: string) => ObjectStore;
  /**
   * Where extraction encodes Parquet (default: one pool of worker threads per process, sized by
   * `PG_PARQUET_ENCODER_THREADS`, else one per core up to 4).
   */
  readonly encoder?: ParquetEncoder;
}

/** Creates the plugin's activities. Names are prefixed so they never clash with an application's. */
export function createActivities(deps: ActivityDeps = {}) {
  const openStore = deps.openStore ?? openObjectStore;
  const resolve = deps.resolveConnection;
  const common = resolve ? { openStore, resolveConnection: resolve } : { openStore };
  return {
    /** Checks the source and stores (or reuses) the run's partition plan. */
    async pgParquetPlan(input: PlanExportInput): Promise<PlanExportResult> {
      return withPulse(Context.current(), { step: 'plan' }, () =>
        withFailureMapping(() => planExport(input, common)),
      );
    },
    /**
     * Exports the run's snapshot from a transaction this worker process keeps open (no activity
     * slot stays taken) until the run no longer wants it; see take-snapshot.ts.
     */
    async pgParquetTakeSnapshot(input: TakeSnapshotInput): Promise<RunSnapshot> {
      const client = Context.current().client;
      const owner = (workflowId: string): SnapshotOwner => {
        const handle = client.workflow.getHandle(workflowId);
        return {
          async wants(snapshotId) {
            // A closed run (failed, terminated, cancelled) answers no query about its future.
            const { status } = await handle.describe();
            if (status.name !== 'RUNNING') return false;
            return handle.query<boolean, [string]>(SNAPSHOT_WANTED_QUERY, snapshotId);
          },
        };
      };
      return withFailureMapping(() =>
        takeSnapshot(input, resolve ? { owner, resolveConnection: resolve } : { owner }),
      );
    },
    /** One chunk of the stored plan's partition ranges (the workflow works a chunk at a time). */
    async pgParquetPlanRanges(input: PlanRangesInput): Promise<{ ranges: PartitionRange[] }> {
      return withPulse(Context.current(), { step: 'ranges', start: input.start }, () =>
        withFailureMapping(() => planRanges(input, { openStore })),
      );
    },
    /**
     * Extracts one partition to Parquet, heartbeating after every stored batch; what a heartbeat
     * says is also reported to the workflow's `progress` query (best effort, throttled).
     */
    async pgParquetExtractPartition(input: ExtractPartitionInput): Promise<ExtractPartitionResult> {
      const ctx = Context.current();
      const reports = progressReporter(ctx, input.partition.index);
      try {
        return await withFailureMapping(() =>
          extractPartition(
            input,
            {
              heartbeat: (p) => {
                ctx.heartbeat(p);
                reports.offer(p);
              },
              signal: ctx.cancellationSignal,
            },
            deps.encoder ? { ...common, encoder: deps.encoder } : common,
          ),
        );
      } finally {
        reports.stop();
      }
    },
    /** Plans (or reuses) the run's data files: which raw files each one merges. */
    async pgParquetPlanCompaction(input: PlanCompactionInput): Promise<PlanCompactionResult> {
      return withPulse(Context.current(), { step: 'plan-compaction' }, () =>
        withFailureMapping(() => planCompaction(input, { openStore })),
      );
    },
    /**
     * Merges one group of raw files into one data file with large row groups; heartbeats after
     * each raw file and on a timer (the last part's upload and the footer check are single steps).
     */
    async pgParquetCompact(input: CompactGroupInput): Promise<CompactGroupResult> {
      const start = { group: input.group, inputsDone: 0, inputs: 0, rows: 0 };
      return withPulse(Context.current(), start, (heartbeat) =>
        withFailureMapping(() => compactGroup(input, { heartbeat }, { openStore })),
      );
    },
    /** The tables of a schema that match include/exclude (exportTables), READ ONLY. */
    async pgParquetListTables(input: ListTablesInput): Promise<{ tables: QualifiedName[] }> {
      return withFailureMapping(() => listTables(input, resolve ? { resolveConnection: resolve } : {}));
    },
    /** Which tables a runKey already finished (`_SUCCESS` stored): exportTables skips them. */
    async pgParquetCompletedRuns(input: CompletedRunsInput): Promise<{ completed: CompletedRun[] }> {
      return withFailureMapping(() => completedRuns(input, { openStore }));
    },
    /** Verifies the stored partitions and writes `_manifest.json` and `_SUCCESS`. */
    async pgParquetFinalize(input: FinalizeExportInput): Promise<FinalizeExportResult> {
      const start = { step: 'start', done: 0, total: 0 };
      return withPulse(Context.current(), start, (heartbeat) =>
        withFailureMapping(() => finalizeExport(input, { heartbeat }, { openStore })),
      );
    },
  };
}

/** The activity interface, for `proxyActivities<PgParquetActivities>()` in workflows. */
export type PgParquetActivities = ReturnType<typeof createActivities>;
