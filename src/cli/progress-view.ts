/** Live progress of an export on a terminal: partitions, rows, bytes, rate and ETA. */
import cliProgress from 'cli-progress';
import type { ExportProgress } from '../../workflows/export-table.js';

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

/** A progress bar over partitions; rows, bytes and rate in the payload. Inert when not on a TTY. */
export class ProgressView {
  private readonly bar: cliProgress.SingleBar | undefined;
  private started = false;
  private readonly t0 = Date.now();

  constructor(enabled: boolean = process.stderr.isTTY === true) {
    this.bar = enabled
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format:
              '{phase} |{bar}| {value}/{total} partitions ({running} running) | {rows} rows | {bytes} | {rate} rows/s | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  }

  /** Shows a new progress snapshot. */
  update(p: ExportProgress): void {
    if (!this.bar) return;
    const seconds = Math.max(0.001, (Date.now() - this.t0) / 1000);
    const payload = {
      phase: p.phase.padEnd(10),
      running: p.partitions.running,
      rows: formatCount(p.rows),
      bytes: formatBytes(p.bytes),
      rate: formatCount(p.rows / seconds),
    };
    if (!this.started) {
      this.bar.start(Math.max(1, p.partitions.total), p.partitions.done, payload);
      this.started = true;
    }
    this.bar.setTotal(Math.max(1, p.partitions.total));
    this.bar.update(p.partitions.done, payload);
  }

  /** Removes the bar. */
  stop(): void {
    if (this.started) this.bar?.stop();
  }
}
