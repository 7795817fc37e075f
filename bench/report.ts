/** Turns the samples of a bench run into medians, ratios, a JSON document and a Markdown table. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineFacts } from './machine.js';
import type { BenchOptions } from './options.js';
import { median, type Measurement } from './samples.js';

/** Size of one bench table. */
export interface TableSize {
  readonly rows: number;
  /** `pg_total_relation_size` (heap, TOAST, indexes). */
  readonly relation_bytes: number;
  /** Bytes of the whole table through binary COPY (from the COPY-limit runs), when measured. */
  readonly copy_bytes: number | null;
}

/** Medians of one measurement. */
interface Summary {
  readonly label: string;
  readonly kind: Measurement['kind'];
  readonly table: string;
  readonly rows: number;
  readonly runs: number;
  readonly seconds_median: number;
  readonly seconds_all: readonly number[];
  /** Spawn to exit of the process a user starts, start-up included (null: run in the bench process). */
  readonly wall_s_median: number | null;
  readonly wall_s_all: readonly number[];
  readonly rows_per_s: number;
  /** CPU seconds (user + sys) of the exporting process(es). */
  readonly exporter_cpu_s_median: number | null;
  readonly exporter_cpu_s_all: readonly number[];
  /** Exporter CPU microseconds per row. */
  readonly exporter_cpu_us_per_row: number | null;
  /** CPU seconds of PostgreSQL's server processes over the run. */
  readonly postgres_cpu_s_median: number | null;
  readonly postgres_cpu_s_all: readonly number[];
  /** Source bytes per second, source = the table through binary COPY. */
  readonly copy_mb_per_s: number | null;
  /** Source bytes per second, source = `pg_total_relation_size`. */
  readonly relation_mb_per_s: number;
  readonly peak_rss_mib_median: number | null;
  readonly peak_rss_mib_all: readonly number[];
  readonly bytes_out_median: number | null;
  /** What each run reported besides the above (per run, in order). */
  readonly details: readonly Readonly<Record<string, unknown>>[];
}

/** Metrics a ratio can compare. */
type RatioMetric =
  | 'rows_per_s'
  | 'seconds_median'
  | 'wall_s_median'
  | 'exporter_cpu_us_per_row'
  | 'postgres_cpu_s_median'
  | 'peak_rss_mib_median';

/** One ratio: `a ÷ b` of a metric, or the metric of `a` itself when there is no `b`. */
export interface RatioSpec {
  readonly label: string;
  readonly a: string;
  readonly b?: string;
  readonly metric: RatioMetric;
  /** Headline ratios come first in the Markdown. */
  readonly headline?: boolean;
}

/** One row of the memory-scaling table. */
export interface ScalingRow {
  readonly rows: number;
  /** Id of our extraction → file:// at that size. */
  readonly ours: string;
  /** Id of the whole run (CLI → worker, compaction on) at that size (if it ran). */
  readonly wholeRun: string;
  /** Id of the ConnectorX + Polars loop anchor at that size (if it ran). */
  readonly anchorLoop: string;
}

/** Everything a report is made from. */
export interface ReportInput {
  readonly command: string;
  readonly options: BenchOptions;
  readonly startedAt: Date;
  readonly machine: MachineFacts;
  readonly tables: Readonly<Record<string, TableSize>>;
  readonly measurements: readonly Measurement[];
  readonly ratios: readonly RatioSpec[];
  readonly scaling: readonly ScalingRow[];
  /** Wall times of the bench's phases, seconds. */
  readonly durations: Readonly<Record<string, number>>;
  /** What did not run or failed (anchors that could not be installed or run), with the error. */
  readonly notes: readonly string[];
}

/** One row of the report's scaling section. */
interface ScalingSummary {
  readonly rows: number;
  readonly ours_seconds: number | null;
  readonly ours_rows_per_s: number | null;
  readonly ours_peak_rss_mib: number | null;
  readonly whole_run_seconds: number | null;
  readonly worker_peak_rss_mib: number | null;
  readonly anchor_loop_peak_rss_mib: number | null;
  readonly rss_ours_over_anchor_loop: number | null;
}

/** The JSON document written to bench/results. */
export interface BenchReport {
  readonly date: string;
  readonly command: string;
  readonly options: BenchOptions;
  readonly machine: MachineFacts;
  readonly tables: Readonly<Record<string, TableSize>>;
  readonly durations_s: Readonly<Record<string, number>>;
  readonly notes: readonly string[];
  readonly measurements: Readonly<Record<string, Summary>>;
  /** Headline figures: the whole run (CLI) against the anchors. */
  readonly headline: Readonly<Record<string, number>>;
  readonly ratios: Readonly<Record<string, number>>;
  readonly scaling: readonly ScalingSummary[];
}

function summarize(m: Measurement, size: TableSize | undefined): Summary {
  const seconds = median(m.samples.map((s) => s.seconds));
  const rows = m.samples[0]?.rows ?? 0;
  const defined = (xs: readonly (number | undefined)[]): number[] =>
    xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  const rss = defined(m.samples.map((s) => s.peakRssMib));
  const out = defined(m.samples.map((s) => s.bytesOut));
  const wall = defined(m.samples.map((s) => s.wallSeconds));
  const cpu = defined(m.samples.map((s) => s.cpuSeconds));
  const pg = defined(m.samples.map((s) => s.postgresCpuSeconds));
  const cpuMedian = cpu.length > 0 ? median(cpu) : null;
  const copyBytes = m.samples.find((s) => s.copyBytes !== undefined)?.copyBytes ?? size?.copy_bytes ?? null;
  return {
    label: m.label,
    kind: m.kind,
    table: m.table,
    rows,
    runs: m.samples.length,
    seconds_median: seconds,
    seconds_all: m.samples.map((s) => s.seconds),
    wall_s_median: wall.length > 0 ? median(wall) : null,
    wall_s_all: wall,
    rows_per_s: rows / seconds,
    exporter_cpu_s_median: cpuMedian,
    exporter_cpu_s_all: cpu,
    exporter_cpu_us_per_row: cpuMedian === null || rows === 0 ? null : (cpuMedian / rows) * 1e6,
    postgres_cpu_s_median: pg.length > 0 ? median(pg) : null,
    postgres_cpu_s_all: pg,
    copy_mb_per_s: copyBytes === null ? null : copyBytes / seconds / 1e6,
    relation_mb_per_s: (size?.relation_bytes ?? 0) / seconds / 1e6,
    peak_rss_mib_median: rss.length > 0 ? median(rss) : null,
    peak_rss_mib_all: rss,
    bytes_out_median: out.length > 0 ? median(out) : null,
    details: m.samples.map((s) => s.details ?? {}),
  };
}

const ratio = (a: number | null, b: number | null): number | null => (a !== null && b ? a / b : null);

/** Builds the report document. */
export function buildReport(input: ReportInput): BenchReport {
  const measurements = Object.fromEntries(
    input.measurements.map((m) => [m.id, summarize(m, input.tables[m.table])]),
  );
  const value = (id: string, metric: RatioMetric): number | null => measurements[id]?.[metric] ?? null;
  const figures = (headline: boolean): Record<string, number> =>
    Object.fromEntries(
      input.ratios
        .filter((r) => (r.headline ?? false) === headline)
        .map((r) => {
          const a = value(r.a, r.metric);
          return [r.label, r.b === undefined ? a : ratio(a, value(r.b, r.metric))] as const;
        })
        .filter((e): e is readonly [string, number] => e[1] !== null && Number.isFinite(e[1])),
    );
  const scaling = input.scaling.map((s): ScalingSummary => {
    const ours = measurements[s.ours];
    const rss = ours?.peak_rss_mib_median ?? null;
    const loop = measurements[s.anchorLoop]?.peak_rss_mib_median ?? null;
    const whole = measurements[s.wholeRun];
    return {
      rows: s.rows,
      ours_seconds: ours?.seconds_median ?? null,
      ours_rows_per_s: ours?.rows_per_s ?? null,
      ours_peak_rss_mib: rss,
      whole_run_seconds: whole?.seconds_median ?? null,
      worker_peak_rss_mib: whole?.peak_rss_mib_median ?? null,
      anchor_loop_peak_rss_mib: loop,
      rss_ours_over_anchor_loop: ratio(rss, loop),
    };
  });
  return {
    date: input.startedAt.toISOString(),
    command: input.command,
    options: input.options,
    machine: input.machine,
    tables: input.tables,
    durations_s: input.durations,
    notes: input.notes,
    measurements,
    headline: figures(true),
    ratios: figures(false),
    scaling,
  };
}

const fixed = (n: number | null | undefined, digits: number): string =>
  typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '–';
const grouped = (n: number | null | undefined): string =>
  typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';

function heading(report: BenchReport): string {
  const { options: o, machine: m } = report;
  const main = report.tables['public.bench_events'];
  const size = main
    ? `${(main.relation_bytes / 2 ** 20).toFixed(0)} MiB on disk` +
      (main.copy_bytes === null ? '' : `, ${(main.copy_bytes / 1e6).toFixed(0)} MB through COPY`)
    : '';
  return (
    `\`bench_events\`, ${o.rows.toLocaleString('en-US')} rows (${size}), ${o.partitions} partitions read ` +
    `at once, zstd, median of ${o.repeat}. ${m.nproc} cores (${m.cpu_model}), ` +
    `${m.mem_gib} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, commit ${m.git}; load average ` +
    `${m.load_avg.start.toFixed(1)} at start, ${m.load_avg.end.toFixed(1)} at end. ` +
    `\`${report.command}\`, ${report.date}.`
  );
}

const COLUMNS =
  'Columns: median s is the run as the contender times it (the CLI: its whole process); process s ' +
  'is spawn to exit of the process a user starts, start-up included (– when the run is inside the ' +
  'bench process). Exporter CPU s is user + sys of the exporting processes, threads included: ' +
  'rusage of the child (GNU time) for the anchors and our child processes; for the workflow runs ' +
  "the worker's /proc CPU ticks after minus before, plus the CLI process's rusage (library: the " +
  "bench process's own). PostgreSQL CPU s is the postmaster and its children (/proc), after minus " +
  'before: every backend, background processes included, and any other client of the server. ' +
  "Peak RSS is the exporting process's own (ours → workflow: the worker's, reset before each run). " +
  'Output MB: the Parquet written. Settings: zstd everywhere; ours → file/MinIO and ConnectorX cast ' +
  'timestamps to ms; the whole run (CLI, library) uses the defaults (µs) but for the partition count; ' +
  'DuckDB keeps µs; ours, ConnectorX and DuckDB (`--meta`) add `_extracted_at` and `_extraction_id`. ' +
  "Each sample's details in the JSON carry the 1-minute load average when it started.";

/** The report as Markdown: a heading line, the headline figures, the measurements, the ratios, the scaling run. */
export function renderMarkdown(report: BenchReport): string {
  const lines = [heading(report), ''];
  if (report.notes.length > 0) lines.push(...report.notes.map((n) => `- ${n}`), '');
  if (Object.keys(report.headline).length > 0) {
    lines.push(
      'Headline: the whole run a user starts (`pg-parquet export … --wait --json` against a running worker):',
      '',
      '| figure | value |',
      '| --- | ---: |',
      ...Object.entries(report.headline).map(([k, v]) => `| ${k} | ${fixed(v, 2)} |`),
      '',
    );
  }
  lines.push(
    '| run | median s | process s | rows/s | MB/s (COPY bytes) | exporter CPU s | CPU µs/row | PostgreSQL CPU s | peak RSS MiB | output MB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...Object.values(report.measurements).map(
      (s) =>
        `| ${s.label} | ${fixed(s.seconds_median, 2)} | ${fixed(s.wall_s_median, 2)} | ${grouped(s.rows_per_s)} | ${fixed(s.copy_mb_per_s, 1)} | ${fixed(s.exporter_cpu_s_median, 2)} | ` +
        `${fixed(s.exporter_cpu_us_per_row, 2)} | ${fixed(s.postgres_cpu_s_median, 2)} | ` +
        `${fixed(s.peak_rss_mib_median, 0)} | ${fixed(s.bytes_out_median === null ? null : s.bytes_out_median / 1e6, 1)} |`,
    ),
    '',
    COLUMNS,
    '',
    '| ratio | value |',
    '| --- | ---: |',
    ...Object.entries(report.ratios).map(([k, v]) => `| ${k} | ${fixed(v, 2)} |`),
  );
  if (report.scaling.length > 0) {
    lines.push(
      '',
      `Memory scaling (${report.options.partitions} partitions): ours → file:// and the whole run (CLI → worker, compaction on):`,
      '',
      '| rows | ours s | ours rows/s | ours peak RSS MiB | whole run s | worker peak RSS MiB | ConnectorX loop peak RSS MiB | RSS ours ÷ loop |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...report.scaling.map(
        (s) =>
          `| ${s.rows.toLocaleString('en-US')} | ${fixed(s.ours_seconds, 2)} | ${grouped(s.ours_rows_per_s)} | ` +
          `${fixed(s.ours_peak_rss_mib, 0)} | ${fixed(s.whole_run_seconds, 2)} | ${fixed(s.worker_peak_rss_mib, 0)} | ` +
          `${fixed(s.anchor_loop_peak_rss_mib, 0)} | ` +
          `${fixed(s.rss_ours_over_anchor_loop, 2)} |`,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `<timestamp>.json`, `latest.json` and `latest.md` into `dir`.
 * @returns the path of the timestamped file.
 */
export function writeReport(dir: string, report: BenchReport, markdown: string): string {
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamped = join(dir, `${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(stamped, json);
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, 'latest.md'), markdown);
  return stamped;
}
