/**
 * Finalizing activity body: checks that every planned partition is complete and that the stored
 * files hold exactly the rows PostgreSQL sent, then writes `_manifest.json` and `_SUCCESS`.
 */
import { metadataFields } from '../arrow/transforms.js';
import { ErrorType, PgParquetError } from '../errors.js';
import type { Compression, TimestampUnit } from '../export-input.js';
import { readParquetMetadata } from '../parquet/writer.js';
import { manifestKey, partitionDoneKey, planKey, successKey } from '../storage/keys.js';
import {
  MANIFEST_VERSION,
  type Manifest,
  type ManifestColumn,
  type ManifestFile,
  type ManifestPartition,
} from '../storage/manifest.js';
import type { ObjectStore } from '../storage/object-store.js';
import { displayName, type QualifiedName } from '../table-name.js';
import type { PartitionStats } from './extract-partition.js';
import type { RunPlan } from './run-plan.js';

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
}

/** Result: where the manifest is and the totals it records. */
export interface FinalizeExportResult {
  readonly manifestUrl: string;
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly partitions: number;
}

/** Dependencies injected by `createActivities`. */
export interface FinalizeDeps {
  readonly openStore: (url: string) => ObjectStore;
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
  const store = deps.openStore(input.destination);
  const run = { table: displayName(input.table), runKey: input.runKey };
  const planBytes = await store.get(planKey(run));
  if (!planBytes) throw verification(`no plan stored for run ${input.runKey}`, { runKey: input.runKey });
  const plan = JSON.parse(new TextDecoder().decode(planBytes)) as RunPlan;

  const partitions: ManifestPartition[] = [];
  const files: ManifestFile[] = [];
  for (const range of plan.partitions) {
    const raw = await store.get(partitionDoneKey(run, range.index));
    if (!raw) throw verification(`partition ${range.index} is not complete`, { partition: range.index });
    const stats = JSON.parse(new TextDecoder().decode(raw)) as PartitionStats;
    let stored = 0;
    for (const f of stats.files) {
      const body = await store.get(f.key);
      if (!body) throw verification(`file ${f.key} of partition ${range.index} is missing`, { key: f.key });
      const meta = readParquetMetadata(body);
      stored += meta.rows;
      files.push({ ...f, bytes: body.length, rowGroups: meta.rowGroups });
    }
    if (stored !== stats.sourceRows) {
      throw verification(
        `partition ${range.index}: PostgreSQL sent ${stats.sourceRows} rows, the stored files hold ${stored}`,
        { partition: range.index, sourceRows: stats.sourceRows, stored },
      );
    }
    partitions.push({ ...range, sourceRows: stats.sourceRows, rows: stored });
    ctx.heartbeat({ step: 'verify', done: partitions.length, total: plan.partitions.length });
  }

  const columns: ManifestColumn[] = [
    ...plan.columns.map((c) => ({ name: c.name, pgType: c.pgType, arrowType: c.arrowType, nullable: c.nullable })),
    ...metadataFields({ ...input.transform, extractedAt: plan.extractedAt, extractionId: input.runKey }).map((f) => ({
      name: f.name,
      pgType: null,
      arrowType: String(f.type),
      nullable: false,
    })),
  ];
  const rows = files.reduce((s, f) => s + f.rows, 0);
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    table: run.table,
    runKey: input.runKey,
    extractedAt: plan.extractedAt,
    destination: input.destination,
    cursor: plan.cursor,
    where: plan.where,
    compression: input.compression,
    layout: 'raw',
    columns,
    partitions,
    files,
    totals: { rows, bytes, files: files.length, partitions: partitions.length },
    createdAt: plan.extractedAt,
  };
  const key = manifestKey(run);
  await store.put(key, new TextEncoder().encode(JSON.stringify(manifest, null, 2)), 'application/json');
  await store.put(successKey(run), new Uint8Array(0), 'text/plain');
  return { manifestUrl: store.urlOf(key), rows, bytes, files: files.length, partitions: partitions.length };
}

function verification(message: string, details: Record<string, unknown>): PgParquetError {
  return new PgParquetError(ErrorType.VerificationFailed, message, false, details);
}
