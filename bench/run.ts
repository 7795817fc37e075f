/**
 * `npm run bench`: our extraction and the anchors of ../shared/bench side by side, in one run, on
 * the same table and machine: the COPY-binary limit, our activity code path (to file:// and to
 * MinIO), the exportTable workflow, the ConnectorX + Polars export (loop and parallel) and
 * compaction against PyArrow, DuckDB and Polars. Every measurement is repeated; the report gives
 * medians, ratios (ours ÷ anchor) and peak RSS, as JSON and as a Markdown table
 * (bench/results/latest.json, latest.md, and a timestamped JSON).
 *
 *   npm run bench -- [--rows 1000000] [--repeat 3] [--partitions 2] [--scaling] [--help]
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
import { parseBenchOptions, USAGE, type BenchOptions } from './options.js';
import { RESULTS_DIR, SHARED_BENCH } from './paths.js';
import {
  buildReport,
  renderMarkdown,
  writeReport,
  type RatioSpec,
  type ScalingRow,
  type TableSize,
} from './report.js';
import { mainRound, scalingRound, type RoundContext } from './rounds.js';
import { SampleLog } from './samples.js';

/** The ratios the report gives, when both sides were measured. */
function ratioSpecs(t: BenchTable, o: BenchOptions): RatioSpec[] {
  const file = CATALOG.oursFile(t).id;
  const minio = CATALOG.oursMinio(t).id;
  const inline = CATALOG.oursFileInline(t).id;
  const wf = CATALOG.oursWorkflow(t, true).id;
  const wfRaw = CATALOG.oursWorkflow(t, false).id;
  const loop = CATALOG.cx(t, 'loop').id;
  const parallel = CATALOG.cx(t, 'parallel').id;
  const limit = CATALOG.copyLimit(t, o.partitions).id;
  const compact = CATALOG.oursCompaction(t).id;
  const speed = (label: string, a: string, b: string): RatioSpec => ({ label, a, b, metric: 'rows_per_s' });
  const rss = (label: string, a: string, b: string): RatioSpec => ({
    label,
    a,
    b,
    metric: 'peak_rss_mib_median',
  });
  return [
    speed('rows/s: ours → file ÷ ConnectorX loop', file, loop),
    speed('rows/s: ours → file ÷ ConnectorX parallel', file, parallel),
    speed(`rows/s: ours → file ÷ COPY limit ×${o.partitions}`, file, limit),
    speed('rows/s: ours → file, main-thread encoding ÷ ConnectorX loop', inline, loop),
    speed('rows/s: ours → MinIO ÷ ConnectorX loop', minio, loop),
    speed('rows/s: ours workflow ÷ ConnectorX loop', wf, loop),
    speed(`rows/s: ours workflow ÷ COPY limit ×${o.partitions}`, wf, limit),
    speed('rows/s: ours workflow, no compaction ÷ ours → MinIO', wfRaw, minio),
    rss('peak RSS: ours → file ÷ ConnectorX loop', file, loop),
    rss('peak RSS: ours → file ÷ ConnectorX parallel', file, parallel),
    rss('peak RSS: ours → file, main-thread encoding ÷ ConnectorX loop', inline, loop),
    rss('peak RSS: ours workflow worker ÷ ConnectorX loop', wf, loop),
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
  const python = options.anchors ? await timed(durations, 'python_env', ensureAnchorPython) : undefined;

  const log = new SampleLog();
  const ctx: RoundContext = {
    options,
    databaseUrl,
    s3Destination: `s3://${bucket}/bench`,
    python,
    log,
    runKeyPrefix: `bench-${startedAt.toISOString().replace(/[-:]|\.\d+Z$/g, '')}`,
  };
  await timed(durations, 'main_rounds', async () => {
    for (let rep = 1; rep <= options.repeat; rep++) {
      console.error(`bench: ${eventsTable(main)}, repetition ${rep}/${options.repeat}`);
      await mainRound(ctx, main, rep);
    }
  });
  await timed(durations, 'scaling_rounds', async () => {
    for (const t of scaled) {
      for (let rep = 1; rep <= options.repeat; rep++) {
        console.error(`bench: scaling, ${eventsTable(t)}, repetition ${rep}/${options.repeat}`);
        await scalingRound(ctx, t, rep);
      }
    }
  });

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
    return { rows, ours: CATALOG.oursFile(t).id, anchorLoop: CATALOG.cx(t, 'loop').id };
  });
  durations.total = Math.round((Date.now() - startedAt.getTime()) / 100) / 10;
  const report = buildReport({
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    options,
    startedAt,
    machine: machineFacts(serverVersion, python ? anchorVersions(python) : {}, loadAtStart),
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
