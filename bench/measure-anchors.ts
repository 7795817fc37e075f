/**
 * The Python anchors of ../shared/bench: the ConnectorX + Polars partitioned export, DuckDB's
 * postgres scanner and the compaction engines. Each prints one JSON line with its own peak RSS
 * (ru_maxrss); the bench adds wall time from outside and CPU seconds (wait4 rusage).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { eventsTable, type BenchTable } from './bench-tables.js';
import { numberField, processFields, runJsonChild, type ChildResult } from './child-process.js';
import { ROOT, SHARED_BENCH } from './paths.js';
import type { Sample } from './samples.js';

/**
 * Modes of the extraction anchors: one id range at a time (loop), or the tool's own parallel
 * read (ConnectorX's partitioning; DuckDB's ctid-range scan).
 */
export type AnchorMode = 'loop' | 'parallel';

/** Compaction engines of anchor_compact.py. */
export const COMPACT_ENGINES = ['pyarrow', 'duckdb', 'polars'] as const;
/** One of {@link COMPACT_ENGINES}. */
export type CompactEngine = (typeof COMPACT_ENGINES)[number];

/** Environments of scripts/bench-python.sh: `anchors` (ConnectorX, Polars, …), `duckdb-pg`. */
type PythonProfile = 'anchors' | 'duckdb-pg';

/**
 * Installs the pinned packages of `profile` once (scripts/bench-python.sh, cached under
 * ~/.cache/temporal-pg-parquet) and returns the python executable that has them.
 */
export function ensureAnchorPython(profile: PythonProfile = 'anchors'): string {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'bench-python.sh'), profile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const python = out.trim().split('\n').at(-1);
  if (!python) throw new Error('scripts/bench-python.sh printed no python path');
  return python;
}

/** Packages whose versions the report gives, per profile. */
const REPORTED_PACKAGES: Record<PythonProfile, readonly string[]> = {
  anchors: ['connectorx', 'polars', 'pyarrow', 'duckdb'],
  'duckdb-pg': ['duckdb', 'duckdb-extension-postgres-scanner'],
};

/** Versions of a profile's packages, for the report. */
export function anchorVersions(python: string, profile: PythonProfile = 'anchors'): Record<string, string> {
  const code =
    'import json, sys, importlib.metadata as m; ' +
    'print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))';
  return JSON.parse(
    execFileSync(python, ['-c', code, ...REPORTED_PACKAGES[profile]], { encoding: 'utf8' }),
  ) as Record<string, string>;
}

/** A sample from an extraction anchor's JSON line and its process's cost. */
function anchorSample(r: ChildResult, details: Record<string, unknown>): Sample {
  const { json } = r;
  const { wallSeconds, cpuSeconds, usage } = processFields(r);
  return {
    seconds: numberField(json, 'seconds'),
    wallSeconds,
    cpuSeconds,
    rows: numberField(json, 'rows'),
    peakRssMib: numberField(json, 'peak_rss_mb'),
    bytesOut: numberField(json, 'bytes_out'),
    details: { ...details, ...usage },
  };
}

/** `anchor_connectorx_polars.py --mode <mode>` into `outDir` (zstd, `parts` id ranges). */
export async function measureCxAnchor(
  python: string,
  databaseUrl: string,
  t: BenchTable,
  parts: number,
  mode: AnchorMode,
  outDir: string,
): Promise<Sample> {
  const r = await runJsonChild(python, [
    join(SHARED_BENCH, 'anchor_connectorx_polars.py'),
    '--dsn',
    // ConnectorX recognises PostgreSQL by the postgresql:// scheme.
    databaseUrl.replace(/^postgres:/, 'postgresql:'),
    '--table',
    eventsTable(t),
    '--cursor',
    'id',
    '--out',
    outDir,
    '--parts',
    String(parts),
    '--compression',
    'zstd',
    '--mode',
    mode,
  ]);
  return anchorSample(r, { files: r.json.files });
}

/**
 * `anchor_duckdb_pg.py --mode <mode>` into `outDir`, zstd. Loop: `parts` id ranges one after the
 * other; parallel: DuckDB's ctid-range scan with `parts` threads (so `parts` connections read at
 * once, as our partitions do). `--meta` adds the two metadata columns ours and ConnectorX's add.
 */
export async function measureDuckdbAnchor(
  python: string,
  databaseUrl: string,
  t: BenchTable,
  parts: number,
  mode: AnchorMode,
  outDir: string,
): Promise<Sample> {
  const r = await runJsonChild(python, [
    join(SHARED_BENCH, 'anchor_duckdb_pg.py'),
    '--dsn',
    databaseUrl,
    '--table',
    eventsTable(t),
    '--cursor',
    'id',
    '--out',
    outDir,
    '--parts',
    String(parts),
    '--threads',
    String(parts),
    '--compression',
    'zstd',
    '--meta',
    '--mode',
    mode,
  ]);
  return anchorSample(r, { files: r.json.files, parts: r.json.parts, threads: r.json.threads });
}

/** `anchor_compact.py --engine <engine>` over the files matching `pattern`. */
export async function measureCompactAnchor(
  python: string,
  engine: CompactEngine,
  pattern: string,
  outFile: string,
): Promise<Sample> {
  const r = await runJsonChild(python, [
    join(SHARED_BENCH, 'anchor_compact.py'),
    '--engine',
    engine,
    '--in',
    pattern,
    '--out',
    outFile,
    '--compression',
    'zstd',
  ]);
  return anchorSample(r, { files_in: r.json.files_in, row_groups_out: r.json.row_groups_out });
}
