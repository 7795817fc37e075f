/**
 * Our extraction and compaction through the activity code path, each in a child process
 * (bench/ours-extract.ts, bench/ours-compact.ts) so that the peak RSS is the work's own.
 */
import { ENCODER_THREADS_ENV } from '../src/parquet/encoder-pool.js';
import { openObjectStore } from '../src/storage/destination.js';
import { runPrefix } from '../src/run/keys.js';
import { parseQualifiedName } from '../src/contract/table-name.js';
import { eventsTable, type BenchTable } from './bench-tables.js';
import { numberField, processFields, runJsonChild, type ChildResult } from './child-process.js';
import { tsNodeArgs } from './paths.js';
import type { Sample } from './samples.js';

/** One extraction run. */
export interface OursExtractRun {
  readonly table: BenchTable;
  /** `file:///…` or `s3://bucket/prefix`. */
  readonly destination: string;
  readonly partitions: number;
  /** Unique per run, so that nothing is skipped as already done. */
  readonly runKey: string;
  /** Rows per raw file (default: the workflow's default batch size). */
  readonly batchRows?: number;
  /** `PG_PARQUET_ENCODER_THREADS` of the child (default: the worker's default). */
  readonly encoderThreads?: number;
}

const DETAIL_KEYS = [
  'plan_seconds',
  'extract_seconds',
  'files',
  'files_out',
  'row_groups_out',
  'max_heap_used_mib',
  'max_array_buffers_mib',
  'max_external_mib',
  'rss_timeline_mib',
  'event_loop_delay_max_ms',
  'event_loop_delay_p99_ms',
  'event_loop_delay_mean_ms',
];

/** The child's own timings and memory profile, plus its process's wall time and CPU seconds. */
function sampleOf(r: ChildResult): Sample {
  const { json } = r;
  const { wallSeconds, cpuSeconds, usage } = processFields(r);
  const details = {
    ...Object.fromEntries(DETAIL_KEYS.filter((k) => k in json).map((k) => [k, json[k]])),
    ...usage,
  };
  return {
    seconds: numberField(json, 'seconds'),
    wallSeconds,
    cpuSeconds,
    rows: numberField(json, 'rows'),
    peakRssMib: numberField(json, 'peak_rss_mib'),
    bytesOut: numberField(json, 'bytes_out'),
    details,
  };
}

/** Plan + extractPartition × partitions, concurrently, in a child process. */
export async function measureOursExtract(run: OursExtractRun): Promise<Sample> {
  const args = [
    '--table',
    eventsTable(run.table),
    '--destination',
    run.destination,
    '--partitions',
    String(run.partitions),
    '--run-key',
    run.runKey,
    ...(run.batchRows === undefined ? [] : ['--batch-rows', String(run.batchRows)]),
  ];
  const env =
    run.encoderThreads === undefined
      ? process.env
      : { ...process.env, [ENCODER_THREADS_ENV]: String(run.encoderThreads) };
  const r = await runJsonChild(process.execPath, tsNodeArgs('bench/ours-extract.ts', args), { env });
  if (numberField(r.json, 'skipped') > 0)
    throw new Error(`run ${run.runKey} skipped partitions: not measured`);
  return sampleOf(r);
}

/** Compaction of an extracted run into one data file, in a child process. */
export async function measureOursCompaction(
  t: BenchTable,
  destination: string,
  runKey: string,
): Promise<Sample> {
  const args = ['--table', eventsTable(t), '--destination', destination, '--run-key', runKey];
  return sampleOf(await runJsonChild(process.execPath, tsNodeArgs('bench/ours-compact.ts', args)));
}

/** Deletes every object of a run (`<schema>.<table>/run=<runKey>/…`) under `destination`. */
export async function removeRun(destination: string, t: BenchTable, runKey: string): Promise<void> {
  const store = openObjectStore(destination);
  const objects = await store.list(runPrefix({ table: parseQualifiedName(eventsTable(t)), runKey }));
  await store.delete(objects.map((o) => o.key));
}
