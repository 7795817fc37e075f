/**
 * Compaction activity bodies: plan data files from the finished partitions' raw batch files
 * (`_compaction.json`, written once per run), then merge each group into one data file with large
 * row groups, streaming one raw file at a time so memory stays bounded by a batch and a row group.
 */
import pMap from 'p-map';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import type { Compression } from '../contract/export-input.js';
import { noDictionaryColumns } from '../parquet/column-encoding.js';
import { createParquetStream } from '../parquet/writer.js';
import { readParquetBatches } from '../parquet/reader.js';
import { readStoredParquetInfo } from '../parquet/stored-footer.js';
import { readParquetMetadata } from '../parquet/footer.js';
import { planCompactionGroups, type CompactionGroup, type CompactionInput } from '../plan/compaction.js';
import { compactionKey, dataFileKey, partitionDoneKey } from '../storage/keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { displayName, type QualifiedName } from '../contract/table-name.js';
import type { PartitionStats } from './extract-partition.js';
import { readJson, writeJson } from './json-object.js';
import { loadRunPlan, type RunPlan } from './run-plan.js';

/** `_compaction.json`: the data files of a run and the raw files each one merges. */
export interface CompactionPlan {
  readonly targetFileBytes: number;
  readonly groups: readonly CompactionGroup[];
}

/** Input of the compaction planning activity. */
export interface PlanCompactionInput {
  readonly table: QualifiedName;
  readonly destination: string;
  readonly runKey: string;
  readonly targetFileBytes: number;
}

/** Result: how many data files to write. */
export interface PlanCompactionResult {
  readonly groups: number;
  readonly rows: number;
}

/** Input of one compaction activity: the data file number within `_compaction.json`. */
export interface CompactGroupInput {
  readonly table: QualifiedName;
  readonly destination: string;
  readonly runKey: string;
  readonly group: number;
  readonly parquet: { readonly compression: Compression; readonly rowGroupRows: number };
}

/** Result of one compaction activity. */
export interface CompactGroupResult {
  readonly group: number;
  readonly rows: number;
  readonly bytes: number;
  readonly rowGroups: number;
  /** True when the data file was already complete. */
  readonly skipped: boolean;
}

/** Progress reported while merging (heartbeat details). */
export interface CompactProgress {
  readonly group: number;
  readonly inputsDone: number;
  readonly inputs: number;
  readonly rows: number;
}

/** Dependencies injected by `createActivities`. */
export interface CompactDeps {
  readonly openStore: (url: string) => ObjectStore;
}

/** Concurrent small reads (markers, footers) against the object store. */
export const STORE_READ_CONCURRENCY = 32;

/** Lists the raw files of every finished partition, in key order. */
export async function rawFilesOfRun(
  store: ObjectStore,
  run: { table: string; runKey: string },
): Promise<{
  plan: RunPlan;
  partitions: PartitionStats[];
}> {
  const plan = await loadRunPlan(store, run);
  if (!plan) throw missing(`no plan stored for run ${run.runKey}`, { runKey: run.runKey });
  // Many small reads (100,000 partitions at most): concurrent, in partition order.
  const partitions = await pMap(
    Array.from({ length: plan.partitionCount }, (_, index) => index),
    async (index) => {
      const stats = await readJson<PartitionStats>(store, partitionDoneKey(run, index));
      if (!stats) throw missing(`partition ${index} is not complete`, { partition: index });
      return stats;
    },
    { concurrency: STORE_READ_CONCURRENCY },
  );
  return { plan, partitions };
}

/** Plans the data files of a run, or returns the plan an earlier attempt stored. */
export async function planCompaction(
  input: PlanCompactionInput,
  deps: CompactDeps,
): Promise<PlanCompactionResult> {
  const store = deps.openStore(input.destination);
  const run = { table: displayName(input.table), runKey: input.runKey };
  const key = compactionKey(run);
  let plan = await readJson<CompactionPlan>(store, key);
  if (!plan) {
    const { partitions } = await rawFilesOfRun(store, run);
    const inputs: CompactionInput[] = partitions.flatMap((p) =>
      p.files.map((f) => ({ ...f, partition: p.partition.index })),
    );
    plan = {
      targetFileBytes: input.targetFileBytes,
      groups: planCompactionGroups(inputs, input.targetFileBytes),
    };
    await writeJson(store, key, plan);
  }
  return { groups: plan.groups.length, rows: plan.groups.reduce((s, g) => s + g.rows, 0) };
}

/** Writes one data file (skipped when it is already stored with the expected row count). */
export async function compactGroup(
  input: CompactGroupInput,
  ctx: { heartbeat(p: CompactProgress): void },
  deps: CompactDeps,
): Promise<CompactGroupResult> {
  const store = deps.openStore(input.destination);
  const run = { table: displayName(input.table), runKey: input.runKey };
  const plan = await readJson<CompactionPlan>(store, compactionKey(run));
  const group = plan?.groups[input.group];
  if (!group) throw missing(`compaction group ${input.group} is not planned`, { group: input.group });
  const key = dataFileKey(run, group.index);

  const existing = await store.head(key);
  if (existing) {
    const info = await readStoredParquetInfo(store, key, existing.size).catch(() => undefined);
    if (info?.rows === group.rows) {
      return {
        group: group.index,
        rows: info.rows,
        bytes: existing.size,
        rowGroups: info.rowGroups,
        skipped: true,
      };
    }
  }

  const first = group.inputs[0];
  if (!first) throw missing(`compaction group ${group.index} has no input`, { group: group.index });
  const firstBytes = await fetchRaw(store, first);
  const schema = readParquetMetadata(firstBytes).schema;
  let inputsDone = 0;
  let rows = 0;
  async function* batches() {
    for (const raw of group!.inputs) {
      const bytes = raw === first ? firstBytes : await fetchRaw(store, raw);
      for (const b of readParquetBatches(bytes, schema)) {
        rows += b.numRows;
        yield b;
      }
      inputsDone++;
      ctx.heartbeat({ group: group!.index, inputsDone, inputs: group!.inputs.length, rows });
    }
  }
  // The raw files' encoding choices, so data files are as small and cheap to write as they are.
  const runPlan = await loadRunPlan(store, run);
  const noDictionary = runPlan
    ? noDictionaryColumns(runPlan.columns, runPlan.cursorUnique ? runPlan.cursor : null)
    : [];
  const stream = createParquetStream(schema, batches(), { ...input.parquet, noDictionary });
  const stored = await store.putStream(key, stream.chunks, 'application/vnd.apache.parquet');
  const info = await readStoredParquetInfo(store, key, stored.size);
  if (stream.rowsWritten() !== group.rows || info?.rows !== group.rows) {
    await store.delete([key]);
    throw new PgParquetError(
      ErrorType.VerificationFailed,
      `data file ${key}: ${info?.rows ?? 'no'} rows stored, ${group.rows} expected from its raw files`,
      true,
      { key, stored: info?.rows ?? null, expected: group.rows },
    );
  }
  return {
    group: group.index,
    rows: info.rows,
    bytes: stored.size,
    rowGroups: info.rowGroups,
    skipped: false,
  };
}

async function fetchRaw(store: ObjectStore, raw: CompactionInput): Promise<Uint8Array> {
  const bytes = await store.get(raw.key);
  if (!bytes) throw missing(`raw file ${raw.key} is missing`, { key: raw.key, partition: raw.partition });
  const rows = readParquetMetadata(bytes).rows;
  if (rows !== raw.rows) {
    throw missing(`raw file ${raw.key} holds ${rows} rows, ${raw.rows} were recorded`, {
      key: raw.key,
      rows,
    });
  }
  return bytes;
}

/** Data lost between extraction and compaction: re-running cannot fix it, so it is terminal. */
function missing(message: string, details: Record<string, unknown>): PgParquetError {
  return new PgParquetError(ErrorType.VerificationFailed, message, false, details);
}
