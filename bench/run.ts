/**
 * `npm run bench`: our extraction and the anchors of ../shared/bench, side by side in one run on
 * the same table, each repeated; medians, ratios and peak RSS, as JSON and as a Markdown table.
 *
 *   npm run bench -- [--rows 1000000] [--repeat 3] [--partitions 2] [--no-anchors]
 *
 * Benchmarks are not tests: nothing here asserts a time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ensureLocalStack } from '../src/cli/local-stack.js';
import { startExport, waitForExport } from '../src/client.js';
import { connectClient } from '../src/temporal-connection.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, '..', 'shared', 'bench');
const CACHE = join(
  process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'),
  'temporal-pg-parquet',
);
const VENV = join(CACHE, 'bench-venv');
/** Anchor dependencies, pinned to versions that install from this registry. */
const PYTHON_DEPS = ['connectorx==0.4.6', 'polars==2.1.0', 'pyarrow==26.0.1', 'duckdb==2.0.0'];

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    repeat: { type: 'string', default: '3' },
    partitions: { type: 'string', default: '2' },
    'no-anchors': { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const REPEAT = Number(args.repeat);
const PARTS = Number(args.partitions);

/** One measured run. */
interface Sample {
  seconds: number;
  rows: number;
  peak_rss_mb?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs a command, returns the last JSON line it printed on stdout. */
function jsonLine(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Record<string, number> {
  const out = execFileSync(cmd, argv, {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${cmd} printed no JSON line`);
  return JSON.parse(line) as Record<string, number>;
}

/**
 * The connection as PG* variables: psql and the anchors' shell script then take an empty DSN, so
 * the password never appears in a command line (or in the error that prints one).
 */
function pgEnv(dsn: string): NodeJS.ProcessEnv {
  const u = new URL(dsn);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: u.pathname.slice(1),
  };
}

function ensureTables(env: NodeJS.ProcessEnv): void {
  let have = -1;
  try {
    const out = execFileSync('psql', ['', '-Atc', 'SELECT count(*) FROM bench_events'], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    have = Number(out.trim());
  } catch {
    // No table yet.
  }
  if (have === ROWS) return;
  console.error(`creating the bench tables with ${ROWS} rows…`);
  execFileSync('psql', ['', '-q', '-v', `rows=${ROWS}`, '-f', join(SHARED, 'tables.sql')], {
    env,
    stdio: 'inherit',
  });
}

function ensurePython(): string {
  const python = join(VENV, 'bin', 'python');
  if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  const ok = (() => {
    try {
      execFileSync(python, ['-c', 'import connectorx, polars, pyarrow, duckdb'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!ok) execFileSync(python, ['-m', 'pip', 'install', '-q', ...PYTHON_DEPS], { stdio: 'inherit' });
  return python;
}

/** Peak RSS (VmHWM) of a live process, in MiB. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function workflowRun(runKey: string, bucket: string): Promise<Sample> {
  const taskQueue = `bench-${runKey}`;
  const worker = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'worker'], {
    env: { ...process.env, PG_PARQUET_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve) =>
    worker.stderr.on('data', (d: Buffer) => d.toString().includes('polling') && resolve()),
  );
  const client = await connectClient();
  try {
    const t0 = performance.now();
    const { handle } = await startExport(
      client,
      {
        source: { table: 'public.bench_events' },
        destination: `s3://${bucket}/bench`,
        runKey,
        partitions: { count: PARTS, maxConcurrent: PARTS },
        transform: { timestampUnit: 'ms' },
      },
      { taskQueue },
    );
    const result = await waitForExport(handle);
    return { seconds: (performance.now() - t0) / 1000, rows: result.rows, peak_rss_mb: peakRss(worker.pid!) };
  } finally {
    await client.connection.close();
    worker.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const env = ensureLocalStack({ quiet: true });
  const dsn = process.env.DATABASE_URL!;
  const psqlEnv = pgEnv(dsn);
  ensureTables(psqlEnv);
  const db = new pg.Client({ connectionString: dsn });
  await db.connect();
  const sourceBytes = Number(
    (await db.query<{ b: string }>("SELECT pg_total_relation_size('bench_events')::text AS b")).rows[0]!.b,
  );
  const pgVersion = (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!
    .v;
  await db.end();
  const python = args['no-anchors'] ? undefined : ensurePython();
  const bucket = env.PG_PARQUET_DEMO_BUCKET ?? 'pg-parquet-demo';
  const samples: Record<string, Sample[]> = {};
  const add = (name: string, s: Sample) => (samples[name] ??= []).push(s);

  for (let i = 0; i < REPEAT; i++) {
    console.error(`repetition ${i + 1}/${REPEAT}`);
    for (const p of [1, PARTS]) {
      const r = jsonLine(
        'bash',
        [join(SHARED, 'limit_copy.sh'), '', 'bench_events', 'id', String(p)],
        psqlEnv,
      );
      add(`copy-limit ×${p}`, { seconds: r.seconds!, rows: r.rows! });
    }
    const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-bench-'));
    const ours = jsonLine(process.execPath, [
      '--import',
      'tsx',
      join(ROOT, 'bench/extract-once.ts'),
      'bench_events',
      `file://${dir}`,
      String(PARTS),
    ]);
    add('ours extract → file', { seconds: ours.seconds!, rows: ours.rows!, peak_rss_mb: ours.peak_rss_mb! });
    rmSync(dir, { recursive: true, force: true });
    const s3 = jsonLine(process.execPath, [
      '--import',
      'tsx',
      join(ROOT, 'bench/extract-once.ts'),
      'bench_events',
      `s3://${bucket}/bench-extract`,
      String(PARTS),
    ]);
    add('ours extract → MinIO', { seconds: s3.seconds!, rows: s3.rows!, peak_rss_mb: s3.peak_rss_mb! });
    add('ours exportTable workflow → MinIO', await workflowRun(`bench-${Date.now()}`, bucket));
    // Compaction, side by side on the same raw files (batches of 50,000 rows, file://).
    const rawDir = mkdtempSync(join(tmpdir(), 'pg-parquet-compact-'));
    const runKey = 'compact';
    jsonLine(process.execPath, [
      '--import',
      'tsx',
      join(ROOT, 'bench/extract-once.ts'),
      'bench_events',
      `file://${rawDir}`,
      String(PARTS),
      runKey,
      '50000',
    ]);
    const rawGlob = join(rawDir, `public.bench_events/run=${runKey}/raw/part=*/batch=*.parquet`);
    const c = jsonLine(process.execPath, [
      '--import',
      'tsx',
      join(ROOT, 'bench/compact-once.ts'),
      'bench_events',
      `file://${rawDir}`,
      runKey,
    ]);
    add('ours compaction', { seconds: c.seconds!, rows: c.rows!, peak_rss_mb: c.peak_rss_mb! });
    if (python) {
      for (const engine of ['pyarrow', 'duckdb', 'polars']) {
        const r = jsonLine(python, [
          join(SHARED, 'anchor_compact.py'),
          '--engine',
          engine,
          '--in',
          rawGlob,
          '--out',
          join(rawDir, `${engine}.parquet`),
        ]);
        add(`compaction anchor ${engine}`, {
          seconds: r.seconds!,
          rows: r.rows!,
          peak_rss_mb: r.peak_rss_mb!,
        });
      }
    }
    rmSync(rawDir, { recursive: true, force: true });
    if (python) {
      for (const mode of ['loop', 'parallel']) {
        const out = mkdtempSync(join(tmpdir(), 'pg-parquet-anchor-'));
        const r = jsonLine(python, [
          join(SHARED, 'anchor_connectorx_polars.py'),
          '--dsn',
          dsn.replace(/^postgres:/, 'postgresql:'),
          '--table',
          'public.bench_events',
          '--out',
          out,
          '--parts',
          String(PARTS),
          '--mode',
          mode,
        ]);
        add(`connectorx+polars ${mode}`, { seconds: r.seconds!, rows: r.rows!, peak_rss_mb: r.peak_rss_mb! });
        rmSync(out, { recursive: true, force: true });
      }
    }
  }

  const summary = Object.fromEntries(
    Object.entries(samples).map(([name, s]) => {
      const seconds = median(s.map((x) => x.seconds));
      const rss = s.map((x) => x.peak_rss_mb).filter((x): x is number => x !== undefined);
      return [
        name,
        {
          rows: s[0]!.rows,
          seconds_median: seconds,
          seconds_all: s.map((x) => x.seconds),
          rows_per_s: s[0]!.rows / seconds,
          source_mb_per_s: sourceBytes / seconds / 1e6,
          peak_rss_mb: rss.length ? median(rss) : null,
        },
      ];
    }),
  ) as Record<
    string,
    { rows_per_s: number; peak_rss_mb: number | null; seconds_median: number; source_mb_per_s: number }
  >;
  const ratio = (a: string, b: string, key: 'rows_per_s' | 'peak_rss_mb') => {
    const x = summary[a]?.[key];
    const y = summary[b]?.[key];
    return typeof x === 'number' && typeof y === 'number' ? x / y : null;
  };
  const ratios = {
    'ours extract → file ÷ connectorx loop (rows/s)': ratio(
      'ours extract → file',
      'connectorx+polars loop',
      'rows_per_s',
    ),
    'ours extract → file ÷ connectorx parallel (rows/s)': ratio(
      'ours extract → file',
      'connectorx+polars parallel',
      'rows_per_s',
    ),
    [`ours extract → file ÷ COPY limit ×${PARTS} (rows/s)`]: ratio(
      'ours extract → file',
      `copy-limit ×${PARTS}`,
      'rows_per_s',
    ),
    'ours workflow ÷ connectorx loop (rows/s)': ratio(
      'ours exportTable workflow → MinIO',
      'connectorx+polars loop',
      'rows_per_s',
    ),
    'ours extract → file ÷ connectorx loop (peak RSS)': ratio(
      'ours extract → file',
      'connectorx+polars loop',
      'peak_rss_mb',
    ),
    'ours compaction ÷ pyarrow (rows/s)': ratio('ours compaction', 'compaction anchor pyarrow', 'rows_per_s'),
    'ours compaction ÷ duckdb (rows/s)': ratio('ours compaction', 'compaction anchor duckdb', 'rows_per_s'),
    'ours compaction ÷ polars (rows/s)': ratio('ours compaction', 'compaction anchor polars', 'rows_per_s'),
    'ours compaction ÷ pyarrow (peak RSS)': ratio(
      'ours compaction',
      'compaction anchor pyarrow',
      'peak_rss_mb',
    ),
  };
  const machine = {
    cores: cpus().length,
    mem_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: pgVersion,
  };
  const result = {
    date: new Date().toISOString(),
    rows: ROWS,
    partitions: PARTS,
    repeat: REPEAT,
    source_bytes: sourceBytes,
    machine,
    summary,
    ratios,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  const fmt = (n: number | null | undefined, d = 2) =>
    typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '–';
  const lines = [
    `bench_events, ${ROWS.toLocaleString('en-US')} rows (${(sourceBytes / 2 ** 20).toFixed(0)} MiB on disk), ${PARTS} partitions, zstd, timestamps in ms, median of ${REPEAT}; ${machine.cores} cores, Node ${machine.node}, PostgreSQL ${pgVersion}`,
    '',
    '| run | median s | rows/s | source MB/s | peak RSS MiB |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...Object.entries(summary).map(
      ([name, s]) =>
        `| ${name} | ${fmt(s.seconds_median)} | ${Math.round(s.rows_per_s).toLocaleString('en-US')} | ${fmt(s.source_mb_per_s, 1)} | ${fmt(s.peak_rss_mb, 0)} |`,
    ),
    '',
    '| ratio | value |',
    '| --- | ---: |',
    ...Object.entries(ratios).map(([k, v]) => `| ${k} | ${fmt(v)} |`),
  ];
  writeFileSync(join(dir, 'latest.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

await main();
