/**
 * Compaction activity bodies: plan data files from the finished partitions' raw batch files
 * (`_compaction.json`, written once per run), then write each group as one data file: by default
 * (`concat`) the raw files' row groups under a new footer, assembled by the store from their byte
 * ranges (run-store's composeDataFile); with `rewrite`, decoded and encoded again into large row
 * groups, one raw file at a time so memory stays bounded by a batch and a row group.
 */
import { ErrorType, PgParquetError } from '../contract/errors.js';
import type { Compression } from '../contract/compression.js';
import type { CompactionMode } from '../contract/export-input.js';
import { noDictionaryColumns } from '../parquet/column-encoding.js';
import { createParquetStream } from '../parquet/writer.js';
import { readParquetBatches } from '../parquet/reader.js';
import { readParquetMetadata } from '../parquet/footer.js';
import { planCompactionGroups, type CompactionGroup, type CompactionInput } from '../plan/compaction.js';
import { RunStore, type StoredFile } from '../run/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { QualifiedName } from '../contract/table-name.js';

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
  /** Concatenate the raw files' row groups (default) or decode and encode them again. */
  readonly mode?: CompactionMode;
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

/** Plans the data files of a run, or returns the plan an earlier attempt stored. */
export async function planCompaction(
  input: PlanCompactionInput,
  deps: CompactDeps,
): Promise<PlanCompactionResult> {
  const run = RunStore.open(deps.openStore(input.destination), input.table, input.runKey);
  let plan = await run.compactionPlan();
  if (!plan) {
    const partitions = await run.finishedPartitions(await run.requirePlan());
    const inputs: CompactionInput[] = partitions.flatMap((p) =>
      p.files.map((f) => ({ ...f, partition: p.partition.index })),
    );
    plan = await run.storeCompactionPlan(
      input.targetFileBytes,
      planCompactionGroups(inputs, input.targetFileBytes),
    );
  }
  return { groups: plan.groups, rows: plan.rows };
}

/** Writes one data file (skipped when it is already stored with the expected row count). */
export async function compactGroup(
  input: CompactGroupInput,
  ctx: { heartbeat(p: CompactProgress): void },
  deps: CompactDeps,
): Promise<CompactGroupResult> {
  const run = RunStore.open(deps.openStore(input.destination), input.table, input.runKey);
  const group = await run.compactionGroup(input.group);
  if (!group) throw missing(`compaction group ${input.group} is not planned`, { group: input.group });

  const finished = await run.finishedDataFile(group);
  if (finished) {
    return {
      group: group.index,
      rows: finished.rows,
      bytes: finished.size,
      rowGroups: finished.rowGroups,
      skipped: true,
    };
  }

  let inputsDone = 0;
  const progress = (rows: number) =>
    ctx.heartbeat({ group: group.index, inputsDone, inputs: group.inputs.length, rows });
  const merge = (): Promise<StoredFile> =>
    input.mode === 'rewrite'
      ? rewrite(run, group, input.parquet, progress, () => inputsDone++)
      : composed(run, group, progress, () => (inputsDone = group.inputs.length));
  const stored = await merge().catch(async (err: unknown) => {
    // Another run of this runKey may have stored this data file, finished, and deleted the raw
    // files meanwhile: its data file (the same merge of the same raw files) counts as this one.
    const other = await run.finishedDataFile(group);
    if (!other) throw err;
    return other;
  });
  return {
    group: group.index,
    rows: stored.rows,
    bytes: stored.size,
    rowGroups: stored.rowGroups,
    skipped: false,
  };
}

/** The `concat` mode: the raw files' row groups under one new footer, assembled by the store. */
async function composed(
  run: RunStore,
  group: CompactionGroup,
  progress: (rows: number) => void,
  allDone: () => void,
): Promise<StoredFile> {
  progress(0);
  const stored = await run.composeDataFile(group);
  allDone();
  progress(stored.rows);
  return stored;
}

/**
 * The `rewrite` mode: decodes the group's raw files one at a time and encodes them again into row
 * groups of `parquet.rowGroupRows` (memory: one raw file plus one row group).
 */
async function rewrite(
  run: RunStore,
  group: CompactionGroup,
  parquet: CompactGroupInput['parquet'],
  progress: (rows: number) => void,
  inputDone: () => void,
): Promise<StoredFile> {
  const first = group.inputs[0];
  if (!first) throw missing(`compaction group ${group.index} has no input`, { group: group.index });
  const firstBytes = await run.readRawFile(first);
  const schema = readParquetMetadata(firstBytes).schema;
  let rows = 0;
  async function* batches() {
    for (const raw of group.inputs) {
      const bytes = raw === first ? firstBytes : await run.readRawFile(raw);
      for (const b of readParquetBatches(bytes, schema)) {
        rows += b.numRows;
        yield b;
      }
      inputDone();
      progress(rows);
    }
  }
  // The raw files' encoding choices, so data files are as small and cheap to write as they are.
  const plan = await run.plan();
  const noDictionary = plan ? noDictionaryColumns(plan.columns, plan.cursorUnique ? plan.cursor : null) : [];
  const stream = createParquetStream(schema, batches(), { ...parquet, noDictionary });
  // The stored footer is checked against the group's rows: a truncated stream cannot pass.
  return run.storeDataFile(group, stream.chunks);
}

/** Data lost between extraction and compaction: re-running cannot fix it, so it is terminal. */
function missing(message: string, details: Record<string, unknown>): PgParquetError {
  return new PgParquetError(ErrorType.VerificationFailed, message, false, details);
}
