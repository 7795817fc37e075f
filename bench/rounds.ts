/**
 * One repetition of every measurement, on one bench table. Every run gets a runKey of its own, so
 * nothing is skipped as already exported, and its output is deleted once it is measured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventsTable, type BenchTable } from './bench-tables.js';
import { CATALOG } from './catalog.js';
import {
  COMPACT_ENGINES,
  measureCompactAnchor,
  measureCxAnchor,
  measureDuckdbAnchor,
  type AnchorMode,
} from './measure-anchors.js';
import { measureCopyLimit } from './measure-copy-limit.js';
import { measureOursCompaction, measureOursExtract, removeRun } from './measure-ours.js';
import {
  measureCliExport,
  measureLibraryExport,
  type BenchWorker,
  type WorkflowRun,
} from './measure-workflow.js';
import type { BenchOptions } from './options.js';
import { loadAverage } from './machine.js';
import { processTreeCpuSeconds } from './proc-stats.js';
import type { MeasurementInfo, Sample, SampleLog } from './samples.js';

/** What every round needs. */
export interface RoundContext {
  readonly options: BenchOptions;
  readonly databaseUrl: string;
  /** `s3://bucket/prefix` of the MinIO runs. */
  readonly s3Destination: string;
  /** Python with the anchors' packages, or undefined to skip the anchors. */
  readonly python: string | undefined;
  /** Python with DuckDB and its postgres scanner, or undefined to skip that anchor. */
  readonly duckdbPython: string | undefined;
  /** The running `pg-parquet worker`, or undefined to skip the workflow runs. */
  readonly worker: BenchWorker | undefined;
  /** PostgreSQL's postmaster, when its processes are visible here (for their CPU seconds). */
  readonly postmasterPid: number | undefined;
  readonly log: SampleLog;
  /** Anchor runs that failed (the bench goes on without their sample), for the report. */
  readonly failures: string[];
  /** Prefix of this bench run's runKeys. */
  readonly runKeyPrefix: string;
}

/** Raw batches of the compaction comparison: many small files, as a long extraction leaves. */
const COMPACTION_BATCH_ROWS = 50_000;

function describe(info: MeasurementInfo, s: Sample): string {
  const wall = s.wallSeconds === undefined ? '' : ` (process ${s.wallSeconds.toFixed(2)} s)`;
  const speed = Math.round(s.rows / s.seconds).toLocaleString('en-US');
  const cpu = s.cpuSeconds === undefined ? '' : `, CPU ${s.cpuSeconds.toFixed(2)} s`;
  const pg =
    s.postgresCpuSeconds === undefined ? '' : `, PostgreSQL CPU ${s.postgresCpuSeconds.toFixed(2)} s`;
  const rss = s.peakRssMib === undefined ? '' : `, peak RSS ${s.peakRssMib.toFixed(0)} MiB`;
  return `${info.label}: ${s.seconds.toFixed(2)} s${wall}, ${speed} rows/s${cpu}${pg}${rss}`;
}

/**
 * Runs one measurement, adding the CPU seconds PostgreSQL's processes spent meanwhile. A failed
 * anchor run is noted and skipped; a failure of ours ends the bench.
 */
async function record(ctx: RoundContext, info: MeasurementInfo, run: () => Promise<Sample>): Promise<void> {
  const pgPid = ctx.postmasterPid;
  const load = loadAverage();
  const pg0 = pgPid === undefined ? undefined : processTreeCpuSeconds(pgPid);
  let measured: Sample;
  try {
    measured = await run();
  } catch (err) {
    if (info.kind !== 'anchor') throw err;
    const message = `${info.label} failed: ${(err as Error).message}`;
    console.error(`bench:   ${message}`);
    ctx.failures.push(message);
    return;
  }
  const pg1 = pgPid === undefined ? undefined : processTreeCpuSeconds(pgPid);
  const sample: Sample = {
    ...measured,
    ...(pg0 === undefined || pg1 === undefined ? {} : { postgresCpuSeconds: pg1 - pg0 }),
    details: { ...measured.details, load_avg_1m: Math.round(load * 100) / 100 },
  };
  ctx.log.add(info, sample);
  console.error(`bench:   ${describe(info, sample)}`);
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-bench-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fileUrl = (dir: string): string => pathToFileURL(dir).href;

/** The COPY limit with 1 range and with `partitions` ranges. */
async function copyLimits(ctx: RoundContext, t: BenchTable): Promise<void> {
  for (const parts of new Set([1, ctx.options.partitions])) {
    await record(ctx, CATALOG.copyLimit(t, parts), () => measureCopyLimit(ctx.databaseUrl, t, parts));
  }
}

async function oursToFile(ctx: RoundContext, t: BenchTable, runKey: string): Promise<void> {
  const partitions = ctx.options.partitions;
  await withTempDir((dir) =>
    record(ctx, CATALOG.oursFile(t), () =>
      measureOursExtract({ table: t, destination: fileUrl(dir), partitions, runKey }),
    ),
  );
}

/** The same, encoding on the main thread (PG_PARQUET_ENCODER_THREADS=0) instead of the pool. */
async function oursToFileInline(ctx: RoundContext, t: BenchTable, runKey: string): Promise<void> {
  const partitions = ctx.options.partitions;
  await withTempDir((dir) =>
    record(ctx, CATALOG.oursFileInline(t), () =>
      measureOursExtract({ table: t, destination: fileUrl(dir), partitions, runKey, encoderThreads: 0 }),
    ),
  );
}

async function oursToMinio(ctx: RoundContext, t: BenchTable, runKey: string): Promise<void> {
  const partitions = ctx.options.partitions;
  try {
    await record(ctx, CATALOG.oursMinio(t), () =>
      measureOursExtract({ table: t, destination: ctx.s3Destination, partitions, runKey }),
    );
  } finally {
    await removeRun(ctx.s3Destination, t, runKey);
  }
}

/**
 * Runs `fn` on one export through the bench's worker (none without a worker), then removes the
 * export's objects.
 */
async function onWorker<T>(
  ctx: RoundContext,
  t: BenchTable,
  runKey: string,
  compaction: boolean,
  fn: (run: WorkflowRun) => Promise<T>,
): Promise<T | undefined> {
  const worker = ctx.worker;
  if (!worker) return undefined;
  const run = {
    worker,
    table: t,
    destination: ctx.s3Destination,
    partitions: ctx.options.partitions,
    runKey,
    compaction,
  };
  try {
    return await fn(run);
  } finally {
    await removeRun(ctx.s3Destination, t, runKey);
  }
}

/** The headline: the CLI against the running worker, with or without compaction. */
async function cliExport(
  ctx: RoundContext,
  t: BenchTable,
  runKey: string,
  compaction: boolean,
): Promise<void> {
  await onWorker(ctx, t, runKey, compaction, (run) =>
    record(ctx, CATALOG.oursCli(t, compaction), () => measureCliExport(run)),
  );
}

/** The same export through the client library, from the bench process. */
async function libraryExport(ctx: RoundContext, t: BenchTable, runKey: string): Promise<void> {
  await onWorker(ctx, t, runKey, true, (run) =>
    record(ctx, CATALOG.oursLibrary(t), () => measureLibraryExport(run)),
  );
}

async function cxAnchor(ctx: RoundContext, t: BenchTable, mode: AnchorMode): Promise<void> {
  const python = ctx.python;
  if (!python) return;
  await withTempDir((dir) =>
    record(ctx, CATALOG.cx(t, mode), () =>
      measureCxAnchor(python, ctx.databaseUrl, t, ctx.options.partitions, mode, join(dir, 'out')),
    ),
  );
}

async function duckdbAnchor(ctx: RoundContext, t: BenchTable, mode: AnchorMode): Promise<void> {
  const python = ctx.duckdbPython;
  if (!python) return;
  await withTempDir((dir) =>
    record(ctx, CATALOG.duckdb(t, mode), () =>
      measureDuckdbAnchor(python, ctx.databaseUrl, t, ctx.options.partitions, mode, join(dir, 'out')),
    ),
  );
}

/** Extracts into small raw files (not measured), then compacts them: ours and the anchors. */
async function compaction(ctx: RoundContext, t: BenchTable, runKey: string): Promise<void> {
  await withTempDir(async (dir) => {
    const destination = fileUrl(dir);
    const partitions = ctx.options.partitions;
    await measureOursExtract({ table: t, destination, partitions, runKey, batchRows: COMPACTION_BATCH_ROWS });
    await record(ctx, CATALOG.oursCompaction(t), () => measureOursCompaction(t, destination, runKey));
    const python = ctx.python;
    if (!python) return;
    const pattern = join(dir, eventsTable(t), `run=${runKey}`, '_raw', 'part=*', 'batch=*.parquet');
    for (const engine of COMPACT_ENGINES) {
      await record(ctx, CATALOG.compactAnchor(t, engine), () =>
        measureCompactAnchor(python, engine, pattern, join(dir, `${engine}.parquet`)),
      );
    }
  });
}

/**
 * One whole run (CLI → worker, compaction on) on `t` that no figure includes, before the first
 * repetition: a worker's first run after it starts is its slowest (JIT, WASM tier-up, buffers
 * growing to their size: measured 6.9–7.7 s against medians of 5.0–5.8 s at 1M rows), a cost a
 * deployed worker pays once, which fell on the "compaction on" side of every first repetition.
 *
 * @returns its wall seconds, reported beside the figures.
 */
export async function warmUp(ctx: RoundContext, t: BenchTable): Promise<number | undefined> {
  return onWorker(
    ctx,
    t,
    `${ctx.runKeyPrefix}-warm-up`,
    true,
    async (run) => (await measureCliExport(run)).seconds,
  );
}

/** One repetition of the main comparison on `t`. */
export async function mainRound(ctx: RoundContext, t: BenchTable, rep: number): Promise<void> {
  const key = (what: string): string => `${ctx.runKeyPrefix}-r${rep}-${what}`;
  await copyLimits(ctx, t);
  await oursToFile(ctx, t, key('file'));
  await oursToFileInline(ctx, t, key('file-inline'));
  await oursToMinio(ctx, t, key('minio'));
  // With and without compaction (what compaction adds to the whole run), in an order that
  // alternates between repetitions, so that neither side always runs first.
  for (const compaction of rep % 2 === 1 ? [true, false] : [false, true]) {
    await cliExport(ctx, t, key(compaction ? 'cli' : 'cli-raw'), compaction);
  }
  // The library instead of the CLI: what the CLI process adds.
  await libraryExport(ctx, t, key('lib'));
  await cxAnchor(ctx, t, 'loop');
  await cxAnchor(ctx, t, 'parallel');
  await duckdbAnchor(ctx, t, 'loop');
  await duckdbAnchor(ctx, t, 'parallel');
  if (ctx.options.compaction) await compaction(ctx, t, key('compact'));
}

/** One repetition of the memory-scaling run on a table of another size. */
export async function scalingRound(ctx: RoundContext, t: BenchTable, rep: number): Promise<void> {
  await copyLimits(ctx, t);
  await oursToFile(ctx, t, `${ctx.runKeyPrefix}-s${t.rows}-r${rep}`);
  // The worker's peak RSS of the whole run, the figure whose flatness the memory target names.
  await cliExport(ctx, t, `${ctx.runKeyPrefix}-s${t.rows}-cli-r${rep}`, true);
  await cxAnchor(ctx, t, 'loop');
  await duckdbAnchor(ctx, t, 'parallel');
}
