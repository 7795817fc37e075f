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
  readonly rows_per_s: number;
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

/** One ratio: `a ÷ b` of a metric. */
export interface RatioSpec {
  readonly label: string;
  readonly a: string;
  readonly b: string;
  readonly metric: 'rows_per_s' | 'peak_rss_mib_median';
}

/** One row of the memory-scaling table. */
export interface ScalingRow {
  readonly rows: number;
  /** Id of our extraction → file:// at that size. */
  readonly ours: string;
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
}

/** One row of the report's scaling section. */
interface ScalingSummary {
  readonly rows: number;
  readonly ours_seconds: number | null;
  readonly ours_rows_per_s: number | null;
  readonly ours_peak_rss_mib: number | null;
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
  readonly measurements: Readonly<Record<string, Summary>>;
  readonly ratios: Readonly<Record<string, number | null>>;
  readonly scaling: readonly ScalingSummary[];
}

function summarize(m: Measurement, size: TableSize | undefined): Summary {
  const seconds = median(m.samples.map((s) => s.seconds));
  const rows = m.samples[0]?.rows ?? 0;
  const rss = m.samples.flatMap((s) => (s.peakRssMib === undefined ? [] : [s.peakRssMib]));
  const out = m.samples.flatMap((s) => (s.bytesOut === undefined ? [] : [s.bytesOut]));
  const copyBytes = m.samples.find((s) => s.copyBytes !== undefined)?.copyBytes ?? size?.copy_bytes ?? null;
  return {
    label: m.label,
    kind: m.kind,
    table: m.table,
    rows,
    runs: m.samples.length,
    seconds_median: seconds,
    seconds_all: m.samples.map((s) => s.seconds),
    rows_per_s: rows / seconds,
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
  const value = (id: string, metric: RatioSpec['metric']): number | null =>
    measurements[id]?.[metric] ?? null;
  const ratios = Object.fromEntries(
    input.ratios
      .map((r) => [r.label, ratio(value(r.a, r.metric), value(r.b, r.metric))] as const)
      .filter(([, v]) => v !== null),
  );
  const scaling = input.scaling.map((s): ScalingSummary => {
    const ours = measurements[s.ours];
    const rss = ours?.peak_rss_mib_median ?? null;
    const loop = measurements[s.anchorLoop]?.peak_rss_mib_median ?? null;
    return {
      rows: s.rows,
      ours_seconds: ours?.seconds_median ?? null,
      ours_rows_per_s: ours?.rows_per_s ?? null,
      ours_peak_rss_mib: rss,
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
    measurements,
    ratios,
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
    `at once, zstd, timestamps in ms, median of ${o.repeat}. ${m.nproc} cores (${m.cpu_model}), ` +
    `${m.mem_gib} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, commit ${m.git}; load average ` +
    `${m.load_avg.start.toFixed(1)} at start, ${m.load_avg.end.toFixed(1)} at end. ` +
    `\`${report.command}\`, ${report.date}.`
  );
}

/** The report as Markdown: a heading line, the measurements, the ratios, the scaling run. */
export function renderMarkdown(report: BenchReport): string {
  const lines = [
    heading(report),
    '',
    '| run | median s | rows/s | MB/s (COPY bytes) | MB/s (on disk) | peak RSS MiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.values(report.measurements).map(
      (s) =>
        `| ${s.label} | ${fixed(s.seconds_median, 2)} | ${grouped(s.rows_per_s)} | ${fixed(s.copy_mb_per_s, 1)} | ` +
        `${fixed(s.relation_mb_per_s, 1)} | ${fixed(s.peak_rss_mib_median, 0)} |`,
    ),
    '',
    '| ratio | value |',
    '| --- | ---: |',
    ...Object.entries(report.ratios).map(([k, v]) => `| ${k} | ${fixed(v, 2)} |`),
  ];
  if (report.scaling.length > 0) {
    lines.push(
      '',
      `Memory scaling (ours → file://, ${report.options.partitions} partitions):`,
      '',
      '| rows | ours s | ours rows/s | ours peak RSS MiB | ConnectorX loop peak RSS MiB | RSS ours ÷ loop |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...report.scaling.map(
        (s) =>
          `| ${s.rows.toLocaleString('en-US')} | ${fixed(s.ours_seconds, 2)} | ${grouped(s.ours_rows_per_s)} | ` +
          `${fixed(s.ours_peak_rss_mib, 0)} | ${fixed(s.anchor_loop_peak_rss_mib, 0)} | ` +
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
