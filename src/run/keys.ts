/**
 * The object key layout: a pure function of (table, runKey, partition, batch, file number).
 * Numbers are zero-padded so that keys sort in partition and batch order. `<schema>.<table>` is
 * the table's {@link keyName}: `public.events` as it reads, a dot or `%` inside a part escaped.
 *
 *     <schema>.<table>/run=<runKey>/raw/part=<p>/batch=<b>.parquet
 *     <schema>.<table>/run=<runKey>/data/part-<n>.parquet
 *     <schema>.<table>/run=<runKey>/_plan.json, _plan/ranges-<chunk>.json
 *     <schema>.<table>/run=<runKey>/_compaction.json, _compaction/groups-<chunk>.json
 *     <schema>.<table>/run=<runKey>/_manifest.json
 *     <schema>.<table>/run=<runKey>/_SUCCESS
 *     <schema>.<table>/run=<runKey>/_probe            (written and deleted again by planning)
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

/** `…/raw/part=<p>/` */
export function rawPartitionPrefix(run: RunLocation, partition: number): string {
  return `${runPrefix(run)}raw/part=${pad(partition, PARTITION_DIGITS)}/`;
}

/** `…/raw/part=<p>/batch=<b>.parquet` */
export function rawBatchKey(run: RunLocation, partition: number, batch: number): string {
  return `${rawPartitionPrefix(run, partition)}batch=${pad(batch, BATCH_DIGITS)}.parquet`;
}

/** `…/raw/part=<p>/_partition.json`: written when a partition is complete (its stats). */
export function partitionDoneKey(run: RunLocation, partition: number): string {
  return `${rawPartitionPrefix(run, partition)}_partition.json`;
}

/** `…/data/part-<n>.parquet` */
export function dataFileKey(run: RunLocation, n: number): string {
  return `${runPrefix(run)}data/part-${pad(n, PARTITION_DIGITS)}.parquet`;
}

/** `…/_plan.json`: the partition plan, written once per run so that re-runs resume the same plan. */
export function planKey(run: RunLocation): string {
  return `${runPrefix(run)}_plan.json`;
}

/** `…/_compaction.json`: the run's compaction plan (its totals), written once, after its groups. */
export function compactionKey(run: RunLocation): string {
  return `${runPrefix(run)}_compaction.json`;
}

/** `…/_compaction/groups-<chunk>.json`: which raw files each data file of one chunk merges. */
export function compactionGroupsKey(run: RunLocation, chunk: number): string {
  return `${runPrefix(run)}_compaction/groups-${pad(chunk, PARTITION_DIGITS)}.json`;
}

/** `…/_plan/ranges-<chunk>.json`: the partition ranges of the plan, a chunk at a time. */
export function rangesKey(run: RunLocation, chunk: number): string {
  return `${runPrefix(run)}_plan/ranges-${pad(chunk, PARTITION_DIGITS)}.json`;
}

/** `…/_manifest.json` */
export function manifestKey(run: RunLocation): string {
  return `${runPrefix(run)}_manifest.json`;
}

/** `…/_probe`: a few bytes planning writes and deletes to check the destination takes writes. */
export function probeKey(run: RunLocation): string {
  return `${runPrefix(run)}_probe`;
}

/** `…/_SUCCESS` */
export function successKey(run: RunLocation): string {
  return `${runPrefix(run)}_SUCCESS`;
}

/** Parses the batch number out of a raw batch key, or undefined if it is not one. */
export function parseRawBatchKey(key: string): { partition: number; batch: number } | undefined {
  const m = /\/raw\/part=(\d+)\/batch=(\d+)\.parquet$/.exec(key);
  return m ? { partition: Number(m[1]), batch: Number(m[2]) } : undefined;
}
