/**
 * `npm run bench`: our extraction and the anchors of ../shared/bench side by side, in one run, on
 * the same table and machine: the COPY-binary limit, our activity code path (to file:// and to
 * MinIO), the headline — the whole run a user starts, `pg-parquet export … --wait --json` against
 * a running `pg-parquet worker`, with and without compaction, and the same through the client
 * library — the ConnectorX + Polars export and DuckDB's postgres scanner (loop and parallel each)
 * and compaction against PyArrow, DuckDB and Polars. Every measurement is repeated; the report
 * gives medians of wall time, CPU seconds of the exporter and of PostgreSQL, peak RSS and output
 * bytes, and ratios (ours ÷ anchor), as JSON and as Markdown (bench/results/latest.json,
 * latest.md, and a timestamped JSON).
 *
 *   npm run bench -- [--rows 1000000] [--repeat 3] [--partitions 2] [--no-duckdb] [--scaling] [--help]
 *
 * Benchmarks are not tests: nothing here asserts a time, and nothing in `npm test` runs it.
 */
import { join } from 'node:path';
import { ensureLocalStack } from '../src/cli/local-stack.js';
import {
  benchTableFor,
  ensureBenchTables,
  eventsTable,
  tableFacts,
  type BenchTable,
} from './bench-tables.js';
import { CATALOG } from './catalog.js';
import { loadAverage, machineFacts } from './machine.js';
import { anchorVersions, COMPACT_ENGINES, ensureAnchorPython } from './measure-anchors.js';
import { BenchWorker } from './measure-workflow.js';
import { parseBenchOptions, USAGE, type BenchOptions } from './options.js';
import { RESULTS_DIR, SHARED_BENCH, buildPackage } from './paths.js';
import { findPostmaster } from './proc-stats.js';
import {
  buildReport,
  renderMarkdown,
  writeReport,
  type RatioSpec,
  type ScalingRow,
  type TableSize,
} from './report.js';
import { mainRound, scalingRound, warmUp, type RoundContext } from './rounds.js';
import { SampleLog } from './samples.js';

/** The headline figures and ratios the report gives, when both sides were measured. */
function ratioSpecs(t: BenchTable, o: BenchOptions): RatioSpec[] {
  const file = CATALOG.oursFile(t).id;
  const minio = CATALOG.oursMinio(t).id;
  const inline = CATALOG.oursFileInline(t).id;
  const cli = CATALOG.oursCli(t, true).id;
  const cliRaw = CATALOG.oursCli(t, false).id;
  const library = CATALOG.oursLibrary(t).id;
  const cxLoop = CATALOG.cx(t, 'loop').id;
  const cxParallel = CATALOG.cx(t, 'parallel').id;
  const duckLoop = CATALOG.duckdb(t, 'loop').id;
  const duckParallel = CATALOG.duckdb(t, 'parallel').id;
  const limit = CATALOG.copyLimit(t, o.partitions).id;
  const compact = CATALOG.oursCompaction(t).id;
  const spec =
    (metric: RatioSpec['metric'], headline = false) =>
    (label: string, a: string, b?: string): RatioSpec => ({ label, a, b, metric, headline });
  const wall = spec('wall_s_median', true);
  const cpuPerRow = spec('exporter_cpu_us_per_row', true);
  const pgCpu = spec('postgres_cpu_s_median', true);
  const rssHead = spec('peak_rss_mib_median', true);
  const speed = spec('rows_per_s');
  const rss = spec('peak_rss_mib_median');
  const whole = 'whole run (CLI)';
  return [
    wall(`wall s, ${whole}`, cli),
    wall(`wall s: ${whole} ÷ ConnectorX + Polars loop`, cli, cxLoop),
    wall(`wall s: ${whole} ÷ ConnectorX + Polars parallel`, cli, cxParallel),
    wall(`wall s: ${whole} ÷ DuckDB parallel`, cli, duckParallel),
    wall(`wall s: ${whole} ÷ DuckDB loop`, cli, duckLoop),
    wall(`wall s: ${whole}, compaction on ÷ off`, cli, cliRaw),
    spec('seconds_median', true)(`wall s: ${whole} ÷ client library`, cli, library),
    cpuPerRow('exporter CPU µs/row, whole run (worker + CLI process)', cli),
    cpuPerRow(`exporter CPU/row: ${whole} ÷ DuckDB loop`, cli, duckLoop),
    cpuPerRow(`exporter CPU/row: ${whole} ÷ DuckDB parallel`, cli, duckParallel),
    cpuPerRow(`exporter CPU/row: ${whole} ÷ ConnectorX + Polars loop`, cli, cxLoop),
    cpuPerRow(`exporter CPU/row: ${whole} ÷ ConnectorX + Polars parallel`, cli, cxParallel),
    cpuPerRow(`exporter CPU/row: ${whole}, compaction on ÷ off`, cli, cliRaw),
    pgCpu(`PostgreSQL CPU s: ${whole} ÷ COPY limit ×${o.partitions}`, cli, limit),
    pgCpu(`PostgreSQL CPU s: ${whole} ÷ DuckDB parallel`, cli, duckParallel),
    pgCpu(`PostgreSQL CPU s: ${whole} ÷ ConnectorX + Polars loop`, cli, cxLoop),
    rssHead(`worker peak RSS MiB, ${whole}`, cli),
    rssHead(`worker peak RSS MiB, ${whole}, no compaction`, cliRaw),
    rssHead(`peak RSS: worker, ${whole} ÷ DuckDB loop`, cli, duckLoop),
    rssHead(`peak RSS: worker, ${whole} ÷ ConnectorX + Polars loop`, cli, cxLoop),
    speed('rows/s: ours → file ÷ ConnectorX loop', file, cxLoop),
    speed('rows/s: ours → file ÷ ConnectorX parallel', file, cxParallel),
    speed('rows/s: ours → file ÷ DuckDB loop', file, duckLoop),
    speed('rows/s: ours → file ÷ DuckDB parallel', file, duckParallel),
    speed(`rows/s: ours → file ÷ COPY limit ×${o.partitions}`, file, limit),
    speed('rows/s: ours → file, main-thread encoding ÷ ConnectorX loop', inline, cxLoop),
    speed('rows/s: ours → MinIO ÷ ConnectorX loop', minio, cxLoop),
    speed(`rows/s: ${whole} ÷ COPY limit ×${o.partitions}`, cli, limit),
    speed(`rows/s: ${whole}, no compaction ÷ ours → MinIO`, cliRaw, minio),
    rss('peak RSS: ours → file ÷ ConnectorX loop', file, cxLoop),
    rss('peak RSS: ours → file ÷ ConnectorX parallel', file, cxParallel),
    rss('peak RSS: ours → file ÷ DuckDB loop', file, duckLoop),
    rss('peak RSS: ours → file, main-thread encoding ÷ ConnectorX loop', inline, cxLoop),
    ...COMPACT_ENGINES.map((e) =>
      speed(`rows/s: ours compaction ÷ ${e}`, compact, CATALOG.compactAnchor(t, e).id),
    ),
    rss('peak RSS: ours compaction ÷ pyarrow', compact, CATALOG.compactAnchor(t, 'pyarrow').id),
  ];
}

async function timed<T>(
  durations: Record<string, number>,
  name: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    durations[name] = Math.round((performance.now() - t0) / 100) / 10;
  }
}

/**
 * The python of a scripts/bench-python.sh profile, or undefined (with a note for the report) when
 * it cannot be installed: the bench then runs without those anchors.
 */
function pythonOrNote(notes: string[], profile: 'anchors' | 'duckdb-pg'): string | undefined {
  try {
    return ensureAnchorPython(profile);
  } catch (err) {
    const message = `scripts/bench-python.sh ${profile} failed, its anchors were skipped: ${(err as Error).message}`;
    console.error(`bench: ${message}`);
    notes.push(message);
    return undefined;
  }
}

/** Package versions of both Python environments (the DuckDB scanner's under `duckdb-pg:`). */
function versions(python: string | undefined, duckdbPython: string | undefined): Record<string, string> {
  const scanner = duckdbPython ? anchorVersions(duckdbPython, 'duckdb-pg') : {};
  return {
    ...(python ? anchorVersions(python) : {}),
    ...Object.fromEntries(Object.entries(scanner).map(([k, v]) => [`duckdb-pg: ${k}`, v])),
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const options = parseBenchOptions(argv);
  if (!options) {
    console.log(USAGE);
    return;
  }
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const durations: Record<string, number> = {};
  const settings = await timed(durations, 'stack_up', () => ensureLocalStack({ quiet: true }));
  // The whole run is measured as users run it: the compiled `pg-parquet` of the package.
  await timed(durations, 'build', buildPackage);
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set and scripts/stack.sh env did not provide it');
  const bucket = process.env.PG_PARQUET_DEMO_BUCKET ?? settings.PG_PARQUET_DEMO_BUCKET ?? 'pg-parquet-demo';

  const main = benchTableFor(options.rows, options.rows);
  const scaled = options.scalingRows
    .filter((r) => r !== options.rows)
    .map((r) => benchTableFor(r, options.rows));
  const tablesSql = join(SHARED_BENCH, 'tables.sql');
  for (const t of [main, ...scaled]) {
    await timed(durations, `tables_${eventsTable(t)}`, () => ensureBenchTables(databaseUrl, t, tablesSql));
  }
  const notes: string[] = [];
  const python = options.anchors
    ? await timed(durations, 'python_env', () => pythonOrNote(notes, 'anchors'))
    : undefined;
  const duckdbPython = options.duckdb
    ? await timed(durations, 'python_env_duckdb', () => pythonOrNote(notes, 'duckdb-pg'))
    : undefined;
  const postmasterPid = await findPostmaster(databaseUrl);
  if (postmasterPid === undefined) {
    notes.push("PostgreSQL's processes are not visible from here: no PostgreSQL CPU seconds.");
  }

  const runKeyPrefix = `bench-${startedAt.toISOString().replace(/[-:]|\.\d+Z$/g, '')}`;
  // Started before any timer and kept for every workflow run, as a deployed worker is.
  const worker = options.workflow
    ? await timed(durations, 'worker_start', () => BenchWorker.start(`pg-parquet-${runKeyPrefix}`))
    : undefined;
  const log = new SampleLog();
  const ctx: RoundContext = {
    options,
    databaseUrl,
    s3Destination: `s3://${bucket}/bench`,
    python,
    duckdbPython,
    worker,
    postmasterPid,
    log,
    failures: notes,
    runKeyPrefix,
  };
  try {
    const warm = await timed(durations, 'worker_warm_up', () => warmUp(ctx, main));
    if (warm !== undefined) {
      const line = `The worker's first run, a warm-up that no figure includes, took ${warm.toFixed(2)} s.`;
      console.error(`bench: ${line}`);
      notes.push(line);
    }
    await timed(durations, 'main_rounds', async () => {
      for (let rep = 1; rep <= options.repeat; rep++) {
        console.error(`bench: ${eventsTable(main)}, repetition ${rep}/${options.repeat}`);
        await mainRound(ctx, main, rep);
      }
    });
    // The same worker serves the scaling runs: its peak RSS is the figure that must stay flat.
    await timed(durations, 'scaling_rounds', async () => {
      for (const t of scaled) {
        for (let rep = 1; rep <= options.repeat; rep++) {
          console.error(`bench: scaling, ${eventsTable(t)}, repetition ${rep}/${options.repeat}`);
          await scalingRound(ctx, t, rep);
        }
      }
    });
  } finally {
    await worker?.stop();
  }

  const tables: Record<string, TableSize> = {};
  let serverVersion = '';
  for (const t of [main, ...scaled]) {
    const facts = await tableFacts(databaseUrl, t);
    serverVersion = facts.serverVersion;
    const copy = log.all().find((m) => m.table === eventsTable(t) && m.kind === 'limit')
      ?.samples[0]?.copyBytes;
    tables[eventsTable(t)] = { rows: t.rows, relation_bytes: facts.relationBytes, copy_bytes: copy ?? null };
  }
  const scaling: ScalingRow[] = options.scalingRows.map((rows) => {
    const t = benchTableFor(rows, options.rows);
    return {
      rows,
      ours: CATALOG.oursFile(t).id,
      wholeRun: CATALOG.oursCli(t, true).id,
      anchorLoop: CATALOG.cx(t, 'loop').id,
    };
  });
  durations.total = Math.round((Date.now() - startedAt.getTime()) / 100) / 10;
  const report = buildReport({
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    options,
    startedAt,
    machine: machineFacts(serverVersion, versions(python, duckdbPython), loadAtStart),
    notes,
    tables,
    measurements: log.all(),
    ratios: ratioSpecs(main, options),
    scaling,
    durations,
  });
  const markdown = renderMarkdown(report);
  const stamped = writeReport(RESULTS_DIR, report, markdown);
  console.log(markdown);
  console.error(`bench: wrote ${stamped}, latest.json and latest.md in ${RESULTS_DIR}`);
}

await main(process.argv.slice(2));
