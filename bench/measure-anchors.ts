/**
 * The Python anchors of ../shared/bench: the ConnectorX + Polars partitioned export and the
 * compaction engines. Each prints one JSON line with its own peak RSS (ru_maxrss).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { eventsTable, type BenchTable } from './bench-tables.js';
import { numberField, runJsonChild } from './child-process.js';
import { ROOT, SHARED_BENCH } from './paths.js';
import type { Sample } from './samples.js';

/** ConnectorX + Polars modes: one id range at a time, or ConnectorX's own partitioning. */
export type CxMode = 'loop' | 'parallel';

/** Compaction engines of anchor_compact.py. */
export const COMPACT_ENGINES = ['pyarrow', 'duckdb', 'polars'] as const;
/** One of {@link COMPACT_ENGINES}. */
export type CompactEngine = (typeof COMPACT_ENGINES)[number];

/**
 * Installs the anchors' pinned packages once (scripts/bench-python.sh, cached under
 * ~/.cache/temporal-pg-parquet) and returns the python executable that has them.
 */
export function ensureAnchorPython(): string {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'bench-python.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const python = out.trim().split('\n').at(-1);
  if (!python) throw new Error('scripts/bench-python.sh printed no python path');
  return python;
}

/** Versions of the anchors' packages, for the report. */
export function anchorVersions(python: string): Record<string, string> {
  const code =
    'import json, importlib.metadata as m; ' +
    'print(json.dumps({p: m.version(p) for p in ["connectorx", "polars", "pyarrow", "duckdb"]}))';
  return JSON.parse(execFileSync(python, ['-c', code], { encoding: 'utf8' })) as Record<string, string>;
}

/** `anchor_connectorx_polars.py --mode <mode>` into `outDir` (zstd, `parts` id ranges). */
export async function measureCxAnchor(
  python: string,
  databaseUrl: string,
  t: BenchTable,
  parts: number,
  mode: CxMode,
  outDir: string,
): Promise<Sample> {
  const { json } = await runJsonChild(python, [
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
  return {
    seconds: numberField(json, 'seconds'),
    rows: numberField(json, 'rows'),
    peakRssMib: numberField(json, 'peak_rss_mb'),
    bytesOut: numberField(json, 'bytes_out'),
    details: { files: json.files },
  };
}

/** `anchor_compact.py --engine <engine>` over the files matching `pattern`. */
export async function measureCompactAnchor(
  python: string,
  engine: CompactEngine,
  pattern: string,
  outFile: string,
): Promise<Sample> {
  const { json } = await runJsonChild(python, [
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
  return {
    seconds: numberField(json, 'seconds'),
    rows: numberField(json, 'rows'),
    peakRssMib: numberField(json, 'peak_rss_mb'),
    bytesOut: numberField(json, 'bytes_out'),
    details: { files_in: json.files_in, row_groups_out: json.row_groups_out },
  };
}
