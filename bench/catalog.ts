/** The measurements of a bench run: stable ids for the JSON, labels for the Markdown table. */
import { eventsTable, type BenchTable } from './bench-tables.js';
import type { CompactEngine, CxMode } from './measure-anchors.js';
import type { MeasurementInfo } from './samples.js';

/** Ids of the scaling run's measurements carry their table's size; the main run's do not. */
function scoped(t: BenchTable, id: string, label: string, kind: MeasurementInfo['kind']): MeasurementInfo {
  const main = t.schema === 'public';
  return {
    id: main ? id : `rows-${t.rows}/${id}`,
    label: main ? label : `${label} @ ${t.rows.toLocaleString('en-US')} rows`,
    table: eventsTable(t),
    kind,
  };
}

/** Every measurement the bench can take. */
export const CATALOG = {
  copyLimit: (t: BenchTable, parts: number): MeasurementInfo =>
    scoped(t, `copy-limit-x${parts}`, `COPY binary limit ×${parts}`, 'limit'),
  oursFile: (t: BenchTable): MeasurementInfo =>
    scoped(t, 'ours-extract-file', 'ours: plan + extractPartition → file://', 'ours'),
  oursFileInline: (t: BenchTable): MeasurementInfo =>
    scoped(t, 'ours-extract-file-inline', 'ours: … → file://, encoding on the main thread', 'ours'),
  oursMinio: (t: BenchTable): MeasurementInfo =>
    scoped(t, 'ours-extract-minio', 'ours: plan + extractPartition → MinIO', 'ours'),
  oursWorkflow: (t: BenchTable, compaction: boolean): MeasurementInfo =>
    compaction
      ? scoped(t, 'ours-workflow-minio', 'ours: exportTable workflow → MinIO', 'ours')
      : scoped(t, 'ours-workflow-raw-minio', 'ours: exportTable workflow, no compaction → MinIO', 'ours'),
  cx: (t: BenchTable, mode: CxMode): MeasurementInfo =>
    scoped(t, `cx-polars-${mode}`, `ConnectorX + Polars, ${mode}`, 'anchor'),
  oursCompaction: (t: BenchTable): MeasurementInfo =>
    scoped(t, 'ours-compaction', 'ours: compaction → file://', 'ours'),
  compactAnchor: (t: BenchTable, engine: CompactEngine): MeasurementInfo =>
    scoped(t, `compact-${engine}`, `compaction anchor: ${engine}`, 'anchor'),
};
