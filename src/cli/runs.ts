/** `pg-parquet runs <table> --to URL`: a table's runs as its destination records them. */
import type { QualifiedName } from '../contract/table-name.js';
import { watermarkText } from '../plan/watermark.js';
import type { WatermarkRange } from '../contract/incremental.js';
import { listTableRuns, type TableRun } from '../run/run-history.js';
import { openObjectStore } from '../storage/destination.js';
import { formatBytes, formatCount } from './progress-view.js';

/** One run as `runs --json` prints it: the listing plus its range as people read it. */
interface TableRunView extends TableRun {
  /** `(from, to]` in the column's own terms (ISO 8601 for timestamps), or null for a full run. */
  readonly range: string | null;
}

/** Every run folder of `table` under `destination`, in runKey order (read from the destination only). */
export async function tableRuns(q: {
  readonly table: QualifiedName;
  readonly destination: string;
}): Promise<TableRunView[]> {
  const runs = await listTableRuns({ store: openObjectStore(q.destination), table: q.table });
  return runs.map((r) => ({ ...r, range: r.watermark ? rangeText(r.watermark) : null }));
}

function rangeText(w: WatermarkRange): string {
  return `${w.column} (${watermarkText(w.kind, w.from)}, ${watermarkText(w.kind, w.to)}]`;
}

/** The human form of {@link tableRuns}: one line per run. */
export function printRuns(runs: readonly TableRunView[]): void {
  if (runs.length === 0) {
    console.log('no runs stored for this table under this destination');
    return;
  }
  const head = ['RUN KEY', 'STATE', 'MODE', 'ROWS', 'BYTES', 'RANGE'];
  const rows = runs.map((r) => [
    r.runKey,
    r.state,
    r.mode ?? '-',
    r.rows === null ? '-' : formatCount(r.rows),
    r.bytes === null ? '-' : formatBytes(r.bytes),
    r.range ?? (r.mode === 'full' ? 'all rows' : '-'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) {
    console.log(
      r
        .map((c, i) =>
          i === r.length - 1 ? c : i === 3 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!),
        )
        .join('  '),
    );
  }
}
