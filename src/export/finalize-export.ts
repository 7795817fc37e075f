/**
 * Finalizing activity body: re-counts every output file's footer and checks it, partition by
 * partition, against the rows PostgreSQL sent; only then writes `_manifest.json`, `_SUCCESS` and
 * the table's `_latest.json`, deletes the raw batch files that compaction merged (unless
 * `keepRaw`) and, with `retention.keepRuns`, the table's older runs.
 */
import pMap from 'p-map';
import { metadataFields } from '../arrow/transforms.js';
import { Schema } from 'apache-arrow';
import { arrowField, describeArrowType } from '../arrow/type-map.js';
import { writeParquetFile } from '../parquet/writer.js';
import type { TypeOptions } from '../contract/type-options.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import type { Compression } from '../contract/compression.js';
import { DEFAULT_ROW_GROUP_ROWS, type TimestampUnit } from '../contract/export-input.js';
import { cursorSpan } from '../plan/compaction.js';
import {
  KEYSET_MANIFEST_VERSION,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestColumn,
  type ManifestFile,
  type ManifestPartition,
} from '../run/manifest.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sqlName, type QualifiedName } from '../contract/table-name.js';
import type pg from 'pg';
import { connect, resolveConnection } from '../postgres/connection.js';
import { cursorRangeCondition, rowFilterSql } from '../postgres/copy-query.js';
import type { CursorValue } from '../postgres/cursor-key.js';
import { quoteQualified } from '../contract/identifiers.js';
import type { PartitionStats } from '../run/documents.js';
import { samePartition } from '../plan/partitions.js';
import { planWhereSql, type RunPlan } from '../run/run-plan.js';
import { readInSnapshot, RunStore, sharedSnapshot, STORE_READ_CONCURRENCY } from '../run/run-store.js';
import { watermarkRangeOf } from '../plan/watermark.js';
import type { WatermarkRange } from '../contract/incremental.js';
import { checkWatermarkChain } from './incremental-range.js';
import type { RunSnapshot } from '../contract/snapshot.js';
import { beginRead } from '../postgres/snapshot.js';

/** Input of the finalizing activity. */
export interface FinalizeExportInput {
  readonly table: QualifiedName;
  readonly destination: string;
  readonly runKey: string;
  readonly transform: {
    readonly extractedAtColumn: string | null;
    readonly extractionIdColumn: string | null;
    readonly timestampUnit: TimestampUnit;
  };
  readonly compression: Compression;
  /** Whether the data files are compacted (`part-<n>.parquet`) or the batch files themselves. */
  readonly compacted: boolean;
  /** Keep the raw batch files after compaction. */
  readonly keepRaw: boolean;
  /**
   * Also count each partition's rows at the source and compare (for tables not being written to):
   * the connection to use, or null not to.
   */
  readonly verifySourceConnection: string | null;
  /**
   * `retention.keepRuns`: after `_SUCCESS` and `_latest.json`, delete the table's successful runs
   * beyond the newest N (absent or null: keep every run).
   */
  readonly keepRuns?: number | null;
  /**
   * The run's snapshot: the source check (`verify: "source"`) counts in it. With
   * `strictSnapshot`, every partition must have been read in it, else the run fails instead of
   * claiming it. The manifest states the snapshot the partitions share, if they share one.
   */
  readonly snapshot?: RunSnapshot | null;
  readonly strictSnapshot?: boolean;
}

/** Result: where the manifest is and the totals it records. */
export interface FinalizeExportResult {
  readonly manifestUrl: string;
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly partitions: number;
  /** Raw batch files deleted after compaction. */
  readonly rawDeleted: number;
  /** The run `_latest.json` names afterwards (this one, unless a greater runKey succeeded before). */
  readonly latestRunKey: string;
  /** RunKeys of older runs deleted by `retention.keepRuns`. */
  readonly runsDeleted: readonly string[];
  /** The rows an incremental run exported (`from < column <= to`); null for a full run. */
  readonly watermark: WatermarkRange | null;
}

/** Dependencies injected by `createActivities`. */
export interface FinalizeDeps {
  readonly openStore: (url: string) => ObjectStore;
  readonly resolveConnection?: typeof resolveConnection;
}

/** How the activity adapter reports progress. */
export interface FinalizeContext {
  heartbeat(progress: { readonly step: string; readonly done: number; readonly total: number }): void;
}

/** Verifies the run and writes its manifest and `_SUCCESS`. */
export async function finalizeExport(
  input: FinalizeExportInput,
  ctx: FinalizeContext,
  deps: FinalizeDeps,
): Promise<FinalizeExportResult> {
  const run = RunStore.open(deps.openStore(input.destination), input.table, input.runKey);
  const plan = await run.requirePlan();
  // The stored ranges must be the plan's and partition the whole cursor domain, and each finished
  // partition must be the range planned for it: otherwise its markers or ranges come from another
  // plan of this runKey.
  const ranges = await run.coveringRanges(plan);
  const partitions = await run.finishedPartitions(plan);
  for (const p of partitions) {
    const planned = ranges[p.partition.index];
    if (!planned || !samePartition(p.partition, planned)) {
      throw verification(
        `partition ${p.partition.index} was extracted for range ${JSON.stringify(p.partition)}, planned ${JSON.stringify(planned)}`,
        { partition: p.partition.index },
      );
    }
  }
  const snapshot = input.snapshot ?? null;
  // A finished run's partitions stay as its manifest states them (a re-run reads nothing again).
  const strict = input.strictSnapshot === true && !(await run.finished());
  const elsewhere = strict ? partitions.find((p) => !readInSnapshot(p, snapshot)) : undefined;
  if (elsewhere) {
    // Extraction never marks a partition of another snapshot done for this one; a marker that
    // says otherwise was written by another run of this runKey.
    throw verification(
      `partition ${elsewhere.partition.index} was not read in the run's snapshot ${snapshot!.id}`,
      { partition: elsewhere.partition.index, snapshotId: snapshot!.id },
    );
  }
  for (const p of partitions) {
    const recorded = p.files.reduce((s, f) => s + f.rows, 0);
    if (recorded !== p.sourceRows) {
      throw verification(
        `partition ${p.partition.index}: PostgreSQL sent ${p.sourceRows} rows, ${recorded} stored`,
        {
          partition: p.partition.index,
          sourceRows: p.sourceRows,
          stored: recorded,
        },
      );
    }
  }
  if (input.verifySourceConnection !== null) {
    const config = (deps.resolveConnection ?? resolveConnection)(input.verifySourceConnection);
    await verifyAtSource(config, plan, partitions, snapshot, ctx);
  }
  const verified = input.compacted
    ? await verifyDataFiles(run, partitions, ctx)
    : await verifyRawFiles(run, partitions, ctx);
  // No rows at all (an empty table, or a where that matched nothing): one zero-row data file
  // still carries the schema, so a reader of the run sees its columns rather than no files.
  const files = (verified.length > 0 ? verified : [await storeEmptyDataFile(run, plan, input)]).map((f) => ({
    ...f,
    cursorMin: manifestCursor(plan, f.cursorMin),
    cursorMax: manifestCursor(plan, f.cursorMax),
  }));

  const columns: ManifestColumn[] = [
    ...plan.columns.map((c) => ({
      name: c.name,
      pgType: c.pgType,
      arrowType: c.arrowType,
      nullable: c.nullable,
    })),
    ...metadataFields({ ...input.transform, extractedAt: plan.extractedAt, extractionId: input.runKey }).map(
      (f) => ({
        name: f.name,
        pgType: null,
        arrowType: describeArrowType(f.type),
        nullable: false,
      }),
    ),
  ];
  const manifestPartitions: ManifestPartition[] = partitions.map((p) => ({
    ...p.partition,
    sourceRows: p.sourceRows,
    rows: p.rows,
    readIn: p.readIn && !p.readIn.mixed ? p.readIn.snapshot : null,
  }));
  const shared = sharedSnapshot(partitions);
  const rows = files.reduce((s, f) => s + f.rows, 0);
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  const watermark = plan.watermark ? watermarkRangeOf(plan.watermark) : null;
  // Last check before `_SUCCESS`: a run superseded while it ran must not claim its range.
  if (watermark) await checkWatermarkChain({ store: run.store, plan, watermark });
  const manifest: Manifest = {
    version: plan.cursorKey ? KEYSET_MANIFEST_VERSION : MANIFEST_VERSION,
    table: sqlName(input.table),
    runKey: input.runKey,
    extractedAt: plan.extractedAt,
    destination: input.destination,
    cursor: plan.cursor,
    ...(plan.cursorKey
      ? { cursorKey: plan.cursorKey.map(({ name, pgType, collation }) => ({ name, pgType, collation })) }
      : {}),
    where: plan.where,
    mode: plan.mode ?? 'full',
    watermark,
    compression: input.compression,
    consistency: shared
      ? {
          mode: 'snapshot',
          snapshotId: shared.snapshotId,
          snapshot: shared.snapshot,
          lsn: shared.lsn,
          takenAt: shared.takenAt,
          standby: shared.standby,
        }
      : { mode: 'partition' },
    layout: input.compacted ? 'compacted' : 'raw',
    columns,
    partitions: manifestPartitions,
    files,
    totals: { rows, bytes, files: files.length, partitions: partitions.length },
    // The run's time, not the wall clock: a re-run writes the same manifest bytes.
    createdAt: plan.extractedAt,
  };
  const manifestUrl = await run.commitManifest(manifest);
  const latest = await run.publishLatest(manifest);
  let rawDeleted = 0;
  if (input.compacted && !input.keepRaw) {
    const raw = partitions.flatMap((p) => p.files.map((f) => f.key));
    await run.deleteRawFiles(raw);
    rawDeleted = raw.length;
  }
  const keepRuns = input.keepRuns ?? null;
  const runsDeleted = keepRuns === null ? [] : await run.deleteOlderRuns(keepRuns);
  return {
    manifestUrl,
    rows,
    bytes,
    files: files.length,
    partitions: partitions.length,
    rawDeleted,
    latestRunKey: latest.runKey,
    runsDeleted,
    watermark,
  };
}

/** Writes `part-00000.parquet` with the run's schema and no rows; returns its manifest entry. */
async function storeEmptyDataFile(
  run: RunStore,
  plan: RunPlan,
  input: FinalizeExportInput,
): Promise<ManifestFile> {
  // The schema extraction gives its batches (see extract-partition.ts): specs, then metadata.
  const opts: TypeOptions = {
    timestampUnit: input.transform.timestampUnit,
    infinity: plan.typeOptions?.infinity ?? 'error',
  };
  const schema = new Schema([
    ...plan.columns.map((c) => arrowField(c, opts)),
    ...metadataFields({ ...input.transform, extractedAt: plan.extractedAt, extractionId: input.runKey }),
  ]);
  const body = writeParquetFile([], schema, {
    compression: input.compression,
    rowGroupRows: DEFAULT_ROW_GROUP_ROWS,
  });
  const info = await run.storeEmptyDataFile(body);
  return {
    key: info.key,
    rows: 0,
    bytes: info.size,
    rowGroups: info.rowGroups,
    cursorMin: null,
    cursorMax: null,
  };
}

/** Raw layout: every batch file's footer must hold the rows recorded for it. */
/**
 * A file's cursor min or max as the manifest states it: the cursor's own value, without the
 * tie-breaker values that the resume points of a non-unique cursor carry after it.
 */
function manifestCursor(plan: RunPlan, v: CursorValue | null): CursorValue | null {
  if (plan.cursorUnique || v === null || typeof v === 'string' || !plan.tieBreaker) return v;
  return plan.cursorKey ? v.slice(0, plan.cursorKey.length) : (v[0] ?? null);
}

async function verifyRawFiles(
  run: RunStore,
  partitions: readonly PartitionStats[],
  ctx: FinalizeContext,
): Promise<ManifestFile[]> {
  const all = partitions.flatMap((p) => p.files);
  let verified = 0;
  return pMap(
    all,
    async (f): Promise<ManifestFile> => {
      const info = await run.storedFile(f.key);
      if (info.rows !== f.rows) {
        throw verification(`${f.key} holds ${info.rows} rows, ${f.rows} were extracted`, { key: f.key });
      }
      ctx.heartbeat({ step: 'verify', done: ++verified, total: all.length });
      return { ...f, bytes: info.size, rowGroups: info.rowGroups };
    },
    { concurrency: STORE_READ_CONCURRENCY },
  );
}

/**
 * Compacted layout: the groups must merge every raw file exactly once, and every data file's
 * footer must hold the rows of its raw files, so each partition's rows are all there, once.
 */
async function verifyDataFiles(
  run: RunStore,
  partitions: readonly PartitionStats[],
  ctx: FinalizeContext,
): Promise<ManifestFile[]> {
  const groups = await run.compactionGroups();
  const merged = new Map<string, number>();
  for (const g of groups) for (const f of g.inputs) merged.set(f.key, (merged.get(f.key) ?? 0) + 1);
  for (const p of partitions) {
    for (const f of p.files) {
      if (merged.get(f.key) !== 1) {
        throw verification(`raw file ${f.key} is merged ${merged.get(f.key) ?? 0} times, not once`, {
          key: f.key,
        });
      }
      merged.delete(f.key);
    }
  }
  if (merged.size > 0) {
    const key = [...merged.keys()][0];
    throw verification(`compaction merges ${key}, which no partition recorded`, { key });
  }
  let verified = 0;
  return pMap(
    groups,
    async (g): Promise<ManifestFile> => {
      const key = run.dataFileKey(g.index);
      const info = await run.storedFile(key);
      if (info.rows !== g.rows) {
        throw verification(`${key} holds ${info.rows} rows, its raw files ${g.rows}`, {
          key,
          stored: info.rows,
          expected: g.rows,
        });
      }
      const span = cursorSpan(g.inputs);
      ctx.heartbeat({ step: 'verify', done: ++verified, total: groups.length });
      return {
        key,
        rows: info.rows,
        bytes: info.size,
        rowGroups: info.rowGroups,
        cursorMin: span.min,
        cursorMax: span.max,
      };
    },
    { concurrency: STORE_READ_CONCURRENCY },
  );
}

/** `count(*)` of every partition's range at the source, in one READ ONLY snapshot (the run's, if it has one). */
async function verifyAtSource(
  config: pg.ClientConfig,
  plan: RunPlan,
  partitions: readonly PartitionStats[],
  snapshot: RunSnapshot | null,
  ctx: FinalizeContext,
): Promise<void> {
  const client = await connect(config);
  try {
    await beginRead(client, snapshot?.id ?? null);
    // The filter extraction ran (checked, time bound at planning), not the text as given.
    const rows = rowFilterSql({ where: planWhereSql(plan), watermark: plan.watermark ?? null });
    const filter = rows === null ? '' : ` AND ${rows}`;
    for (const p of partitions) {
      const r = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${quoteQualified(plan.table.schema, plan.table.name)}
          WHERE ${cursorRangeCondition({ ...plan, key: plan.cursorKey ?? null }, p.partition)}${filter}`,
      );
      const atSource = Number(r.rows[0]?.n ?? -1);
      if (atSource !== p.sourceRows) {
        throw verification(
          `partition ${p.partition.index}: the source now holds ${atSource} rows in its range, ${p.sourceRows} were exported`,
          { partition: p.partition.index, atSource, exported: p.sourceRows },
        );
      }
      ctx.heartbeat({ step: 'verify-source', done: p.partition.index + 1, total: partitions.length });
    }
    await client.query('COMMIT');
  } finally {
    await client.end().catch(() => undefined);
  }
}

function verification(message: string, details: Record<string, unknown>): PgParquetError {
  return new PgParquetError(ErrorType.VerificationFailed, message, false, details);
}
