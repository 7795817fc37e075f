/**
 * The object key layout: a pure function of (table, runKey, partition, batch, file number) and
 * whether the run compacts (fixed by its plan). Numbers are zero-padded so that keys sort in
 * partition and batch order. `<schema>.<table>` is the table's {@link keyName}: `public.events`
 * as it reads, a dot or `%` inside a part escaped.
 *
 *     <schema>.<table>/run=<runKey>/part-<n>.parquet                  data file n (compacted run)
 *     <schema>.<table>/run=<runKey>/part-<p>-<b>.parquet              batch b of partition p (run
 *                                                                     without compaction: the data)
 *     <schema>.<table>/run=<runKey>/_raw/part=<p>/batch=<b>.parquet   batch b of partition p (compacted
 *                                                                     run: read by compaction only)
 *     <schema>.<table>/run=<runKey>/_partitions/part=<p>.json         partition p is done (its stats)
 *     <schema>.<table>/run=<runKey>/_plan.json, _plan/<id>/ranges-<chunk>.json
 *     <schema>.<table>/run=<runKey>/_compaction.json, _compaction/<id>/groups-<chunk>.json
 *                                   (<id>: digest of the whole list; the documents are create-only)
 *     <schema>.<table>/run=<runKey>/_manifest.json, then _SUCCESS
 *     <schema>.<table>/run=<runKey>/_probe-<nonce>                    (written and deleted again by planning)
 *     <schema>.<table>/run=<runKey>/_DELETING                         retention is removing the run
 *     <schema>.<table>/_latest.json                                   the newest successful run
 *
 * A reader pointed at a run folder sees only data files: everything else of the run starts with
 * `_` (which Spark, Hive, Athena and pyarrow skip), and a `*.parquet` glob (DuckDB, Polars)
 * matches no `_…` document and does not descend into `_raw/`.
 *
 * Only {@link RunStore} (run-store.ts) and tests that inspect a run's objects use these.
 */
import { keyName, type QualifiedName } from '../contract/table-name.js';

/** Digits of partition numbers in keys (partitions are limited to 100,000). */
const PARTITION_DIGITS = 5;
/** Digits of batch numbers in keys. */
const BATCH_DIGITS = 6;

/** The parts of a run's location. */
export interface RunLocation {
  readonly table: QualifiedName;
  readonly runKey: string;
}

const pad = (n: number, digits: number): string => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`not a key index: ${n}`);
  return String(n).padStart(digits, '0');
};

/** `<schema>.<table>/run=<runKey>/` */
export function runPrefix(run: RunLocation): string {
  return `${keyName(run.table)}/run=${run.runKey}/`;
}

/** `…/_raw/part=<p>/`: the staged batches of partition `p` of a compacted run. */
function rawPartitionPrefix(run: RunLocation, partition: number): string {
  return `${runPrefix(run)}_raw/part=${pad(partition, PARTITION_DIGITS)}/`;
}

/** `…/_raw/part=<p>/batch=<b>.parquet` */
function rawBatchKey(run: RunLocation, partition: number, batch: number): string {
  return `${rawPartitionPrefix(run, partition)}batch=${pad(batch, BATCH_DIGITS)}.parquet`;
}

/** `…/part-<p>-`: the batches of partition `p` of a run without compaction (its data files). */
function directPartitionPrefix(run: RunLocation, partition: number): string {
  return `${runPrefix(run)}part-${pad(partition, PARTITION_DIGITS)}-`;
}

/**
 * Where the batches of partition `p` are stored: under `_raw/` when compaction merges them into
 * data files, in the run folder itself (`part-<p>-<b>.parquet`) when they are the data files.
 */
export function batchPrefix(run: RunLocation, compacted: boolean, partition: number): string {
  return compacted ? rawPartitionPrefix(run, partition) : directPartitionPrefix(run, partition);
}

/** Key of batch `b` of partition `p` (see {@link batchPrefix}). */
export function batchKey(run: RunLocation, compacted: boolean, partition: number, batch: number): string {
  return compacted
    ? rawBatchKey(run, partition, batch)
    : `${directPartitionPrefix(run, partition)}${pad(batch, BATCH_DIGITS)}.parquet`;
}

/** `…/_partitions/part=<p>.json`: written when a partition is complete (its stats). */
export function partitionDoneKey(run: RunLocation, partition: number): string {
  return `${runPrefix(run)}_partitions/part=${pad(partition, PARTITION_DIGITS)}.json`;
}

/** `…/part-<n>.parquet`: data file `n` of a compacted run, directly in the run folder. */
export function dataFileKey(run: RunLocation, n: number): string {
  return `${runPrefix(run)}part-${pad(n, PARTITION_DIGITS)}.parquet`;
}

/** `…/_plan.json`: the partition plan, written once per run so that re-runs resume the same plan. */
export function planKey(run: RunLocation): string {
  return `${runPrefix(run)}_plan.json`;
}

/** `…/_compaction.json`: the run's compaction plan (its totals), written once, after its groups. */
export function compactionKey(run: RunLocation): string {
  return `${runPrefix(run)}_compaction.json`;
}

/**
 * `…/_compaction/<id>/groups-<chunk>.json`: which raw files each data file of one chunk merges.
 * `id` is the digest of the whole group list (see {@link rangesKey} for why); compaction plans of
 * earlier versions have none and keep their chunks directly under `_compaction/`.
 */
export function compactionGroupsKey(run: RunLocation, chunk: number, id?: string): string {
  return `${runPrefix(run)}_compaction/${idFolder(id)}groups-${pad(chunk, PARTITION_DIGITS)}.json`;
}

/**
 * `…/_plan/<id>/ranges-<chunk>.json`: the partition ranges of the plan, a chunk at a time. `id` is
 * the digest of the whole range list, named in `_plan.json`: two plans of one runKey (two runs
 * planning at once, or an attempt that died before its `_plan.json`) never write the same chunk
 * key with other content, so the plan that wins `_plan.json` always finds its own ranges. Plans
 * of earlier versions have no id and keep their chunks directly under `_plan/`.
 */
export function rangesKey(run: RunLocation, chunk: number, id?: string): string {
  return `${runPrefix(run)}_plan/${idFolder(id)}ranges-${pad(chunk, PARTITION_DIGITS)}.json`;
}

/** `<id>/` for a content-addressed chunk folder, '' for the layout of earlier versions. */
function idFolder(id: string | undefined): string {
  if (id === undefined) return '';
  if (!/^[0-9a-f]{16,64}$/.test(id)) throw new RangeError(`not a chunk digest: ${id}`);
  return `${id}/`;
}

/** `…/_manifest.json` */
export function manifestKey(run: RunLocation): string {
  return `${runPrefix(run)}_manifest.json`;
}

/**
 * `…/_probe` (`…/_probe-<nonce>` with a nonce): a few bytes planning writes and deletes to check
 * the destination takes writes. Each attempt uses its own nonce, so that two runs of one runKey
 * planning at once do not delete each other's probe between its write and its check.
 */
export function probeKey(run: RunLocation, nonce?: string): string {
  return `${runPrefix(run)}_probe${nonce === undefined ? '' : `-${nonce}`}`;
}

/** `…/_SUCCESS` */
export function successKey(run: RunLocation): string {
  return `${runPrefix(run)}_SUCCESS`;
}

/** Parses partition and batch out of a batch key (either placement), or undefined if it is not one. */
export function parseBatchKey(key: string): { partition: number; batch: number } | undefined {
  const m =
    /\/_raw\/part=(\d+)\/batch=(\d+)\.parquet$/.exec(key) ??
    /\/run=[^/]+\/part-(\d{5})-(\d{6})\.parquet$/.exec(key);
  return m ? { partition: Number(m[1]), batch: Number(m[2]) } : undefined;
}

/** `<schema>.<table>/`: the folder of every run of a table. */
export function tablePrefix(table: QualifiedName): string {
  return `${keyName(table)}/`;
}

/** `<schema>.<table>/_latest.json`: which run is the newest successful one. */
export function latestKey(table: QualifiedName): string {
  return `${tablePrefix(table)}_latest.json`;
}

/** The runKey of a run folder (`<schema>.<table>/run=<runKey>/`), or undefined for other folders. */
export function runKeyOfFolder(folder: string): string | undefined {
  return /\/run=([^/]+)\/$/.exec(folder)?.[1];
}

/** `…/_DELETING`: retention is removing this run (written first, removed last). */
export function deletingKey(run: RunLocation): string {
  return `${runPrefix(run)}_DELETING`;
}
