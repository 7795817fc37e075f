/**
 * Live progress of an export while `--wait`ing: a bar on a terminal, one-line `key=value`
 * summaries when stderr is not one (CI logs), nothing with `--json`.
 */
import cliProgress from 'cli-progress';
import type { ExportPhase, ExportProgress } from '../../workflows/export-table.js';

/** Human-readable bytes. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/** Formats a count with thousands separators. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `45s`, `3m12s`, `2h05m`; `–` when unknown (null, negative, NaN or infinite). */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One look at a running export: the workflow's `progress` answer plus what its activities report. */
export interface LiveProgress {
  readonly progress: ExportProgress;
  /** Rows and bytes of the finished partitions. */
  readonly finished: { readonly rows: number; readonly bytes: number };
  /** Rows and bytes stored so far by partitions still running (their reports and heartbeats). */
  readonly inflight: { readonly rows: number; readonly bytes: number };
  /** Rows the plan expects, when the workflow tells; else null (the bar then counts partitions). */
  readonly estimatedRows: number | null;
}

/** Rows the plan expects, when the `progress` answer has an estimate (runs of earlier versions lack it). */
export function estimatedRowsOf(p: ExportProgress): number | null {
  const rows = (p as Partial<ExportProgress>).estimatedRows ?? null;
  return typeof rows === 'number' && Number.isFinite(rows) && rows > 0 ? rows : null;
}

/** What {@link estimateEta} needs. */
interface EtaInput {
  readonly phase: ExportPhase;
  /** Rows stored so far, including running partitions. */
  readonly rows: number;
  /** Rows of the finished partitions only. */
  readonly finishedRows: number;
  readonly partitionsDone: number;
  readonly partitionsTotal: number;
  readonly estimatedRows: number | null;
  /** Recent rows per second, or null while unknown. */
  readonly rowsPerSecond: number | null;
}

/**
 * Seconds left in the extraction, or null while it cannot be known (never NaN or Infinity).
 * With a row estimate: rows left ÷ row rate. Without one: the finished partitions' mean rows
 * times the partitions left gives the rows left, ÷ the row rate. Other phases: null (their length
 * is not known from the outside).
 */
export function estimateEta(e: EtaInput): number | null {
  if (e.phase !== 'extracting' || e.rowsPerSecond === null || !(e.rowsPerSecond > 0)) return null;
  let totalRows: number | null = null;
  if (e.estimatedRows !== null) totalRows = Math.max(e.estimatedRows, e.rows);
  else if (e.partitionsDone > 0 && e.partitionsTotal > 0) {
    totalRows = Math.max(e.rows, (e.finishedRows / e.partitionsDone) * e.partitionsTotal);
  }
  if (totalRows === null) return null;
  const eta = (totalRows - e.rows) / e.rowsPerSecond;
  return Number.isFinite(eta) && eta >= 0 ? eta : null;
}

/** Rates over a sliding window of samples (rows and bytes per second). */
export class RateMeter {
  private readonly samples: { t: number; rows: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 30_000) {}

  add(t: number, rows: number, bytes: number): void {
    this.samples.push({ t, rows, bytes });
    // Keep one sample at or before the window's start, so the window is always full.
    while (this.samples.length > 2 && this.samples[1]!.t <= t - this.windowMs) this.samples.shift();
  }

  /** Rows and bytes per second over the window, or null until two samples 1 s apart show progress. */
  rate(): { rows: number; bytes: number } | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last) return null;
    const seconds = (last.t - first.t) / 1000;
    if (seconds < 1 || last.rows <= first.rows) return null;
    return { rows: (last.rows - first.rows) / seconds, bytes: (last.bytes - first.bytes) / seconds };
  }
}

/** How progress is shown. */
export type ProgressMode = 'bar' | 'log' | 'off';

/** What the done/total counts of a view count: one table's partitions, or an exportTables run's tables. */
export type ProgressUnit = 'partitions' | 'tables';

/** The mode for a `--wait`: nothing with `--json`, a bar on a terminal, log lines otherwise. */
export function progressModeFor(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'off';
  return stream.isTTY ? 'bar' : 'log';
}

/** A computed view of one snapshot, shared by the bar and the log lines. */
interface View {
  readonly phase: ExportPhase;
  readonly done: number;
  readonly total: number;
  readonly running: number;
  readonly rows: number;
  readonly bytes: number;
  readonly estimatedRows: number | null;
  readonly rowsPerSecond: number | null;
  readonly bytesPerSecond: number | null;
  readonly eta: number | null;
  readonly elapsed: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 24;

/** Shows the progress of one export (see {@link ProgressMode}). */
export class ProgressView {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly meter = new RateMeter();
  private readonly t0 = Date.now();
  private view: View | undefined;
  private phaseSince = Date.now();
  private lastLog = 0;
  private shown = { rows: 0, bytes: 0 };
  private stopped = false;

  constructor(
    private readonly mode: ProgressMode,
    /** Seconds between log lines (log mode); a phase change always prints one. */
    private readonly logIntervalSeconds = 10,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly unit: ProgressUnit = 'partitions',
  ) {
    this.bar =
      mode === 'bar'
        ? new cliProgress.SingleBar({
            stream: out,
            format: () => this.renderBar(),
            hideCursor: true,
            fps: 8,
            clearOnComplete: false,
          })
        : undefined;
  }

  /** Shows a new snapshot. */
  update(live: LiveProgress): void {
    if (this.stopped || this.mode === 'off') return;
    const p = live.progress;
    const now = Date.now();
    // Rows only ever grow on screen (after a worker restart, the live numbers of running
    // partitions are empty until their next report).
    const rows = Math.max(this.shown.rows, live.finished.rows + live.inflight.rows);
    const bytes = Math.max(this.shown.bytes, live.finished.bytes + live.inflight.bytes);
    this.shown = { rows, bytes };
    this.meter.add(now, rows, bytes);
    const rate = this.meter.rate();
    const phaseChanged = this.view?.phase !== p.phase;
    if (phaseChanged) this.phaseSince = now;
    this.view = {
      phase: p.phase,
      done: p.partitions.done,
      total: p.partitions.total,
      running: p.partitions.running,
      rows,
      bytes,
      estimatedRows: live.estimatedRows,
      rowsPerSecond: rate?.rows ?? null,
      bytesPerSecond: rate?.bytes ?? null,
      eta: estimateEta({
        phase: p.phase,
        rows,
        finishedRows: live.finished.rows,
        partitionsDone: p.partitions.done,
        partitionsTotal: p.partitions.total,
        estimatedRows: live.estimatedRows,
        rowsPerSecond: rate?.rows ?? null,
      }),
      elapsed: (now - this.t0) / 1000,
    };
    if (this.bar) {
      if (!this.bar.isActive) this.bar.start(1, 0);
      this.bar.update(0);
    } else if (phaseChanged || now - this.lastLog >= this.logIntervalSeconds * 1000) {
      this.lastLog = now;
      this.out.write(`${this.logLine()}\n`);
    }
  }

  /** Stops the bar (the cursor is shown again); safe to call more than once. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bar?.isActive) this.bar.stop();
  }

  /** `<time> progress phase=… partitions=d/t running=n rows=… bytes=… rows_per_s=… eta_s=…` (`tables=d/t` for tables) */
  private logLine(): string {
    const v = this.view!;
    const fields: [string, string | number][] = [
      ['phase', v.phase],
      [this.unit, `${v.done}/${v.total}`],
      ['running', v.running],
      ['rows', v.rows],
    ];
    if (v.estimatedRows !== null) fields.push(['rows_estimated', v.estimatedRows]);
    fields.push(
      ['bytes', v.bytes],
      ['rows_per_s', v.rowsPerSecond === null ? '-' : Math.round(v.rowsPerSecond)],
      ['bytes_per_s', v.bytesPerSecond === null ? '-' : Math.round(v.bytesPerSecond)],
      ['elapsed_s', Math.round(v.elapsed)],
      ['eta_s', v.eta === null ? '-' : Math.round(v.eta)],
    );
    return `${new Date().toISOString()} progress ${fields.map(([k, x]) => `${k}=${x}`).join(' ')}`;
  }

  private renderBar(): string {
    const v = this.view;
    if (!v) return 'starting…';
    const phase = v.phase.padEnd(10);
    const counts = `${formatCount(v.rows)} rows | ${formatBytes(v.bytes)}`;
    if (v.phase === 'extracting') {
      const byRows = v.estimatedRows !== null;
      const ratio = byRows ? v.rows / v.estimatedRows : v.total > 0 ? v.done / v.total : 0;
      const filled = Math.round(Math.min(1, Math.max(0, ratio)) * BAR_WIDTH);
      const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
      const what = byRows
        ? `${formatCount(v.rows)}/${formatCount(v.estimatedRows)} rows | ${v.done}/${v.total} ${this.unit}`
        : `${v.done}/${v.total} ${this.unit} (${v.running} running) | ${formatCount(v.rows)} rows`;
      const rate = v.rowsPerSecond === null ? '– rows/s' : `${formatCount(v.rowsPerSecond)} rows/s`;
      return (
        `${phase} |${bar}| ${Math.floor(Math.min(1, ratio) * 100)}% | ${what}${byRows ? ` (${v.running} running)` : ''} | ` +
        `${formatBytes(v.bytes)} | ${rate} | ETA ${formatDuration(v.eta)}`
      );
    }
    // Planning, compacting and finalizing have no known length: a spinner and the time in the phase.
    const spin = SPINNER[Math.floor(Date.now() / 125) % SPINNER.length]!;
    const inPhase = formatDuration((Date.now() - this.phaseSince) / 1000);
    const parts = v.total > 0 ? `${v.done}/${v.total} ${this.unit} | ` : '';
    const total = formatDuration((Date.now() - this.t0) / 1000);
    return `${phase} ${spin} ${parts}${counts} | ${inPhase} in ${v.phase} | ${total} total`;
  }
}
