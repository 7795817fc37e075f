/** The measurements of a bench run: stable ids for the JSON, labels for the Markdown table. */
import { eventsTable, type BenchTable } from './bench-tables.js';
import type { AnchorMode, CompactEngine } from './measure-anchors.js';
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
  /** The headline: `pg-parquet export … --wait --json` against a running worker. */
  oursCli: (t: BenchTable, compaction: boolean): MeasurementInfo =>
    compaction
      ? scoped(t, 'ours-cli-minio', 'ours: whole run, CLI export --wait → worker → MinIO', 'ours')
      : scoped(t, 'ours-cli-raw-minio', 'ours: whole run, CLI, no compaction → MinIO', 'ours'),
  oursLibrary: (t: BenchTable): MeasurementInfo =>
    scoped(t, 'ours-library-minio', 'ours: client library startExport → worker → MinIO', 'ours'),
  cx: (t: BenchTable, mode: AnchorMode): MeasurementInfo =>
    scoped(t, `cx-polars-${mode}`, `ConnectorX + Polars, ${mode}`, 'anchor'),
  duckdb: (t: BenchTable, mode: AnchorMode): MeasurementInfo =>
    scoped(t, `duckdb-pg-${mode}`, `DuckDB postgres scanner, ${mode}`, 'anchor'),
  oursCompaction: (t: BenchTable): MeasurementInfo =>
    scoped(t, 'ours-compaction', 'ours: compaction → file://', 'ours'),
  compactAnchor: (t: BenchTable, engine: CompactEngine): MeasurementInfo =>
    scoped(t, `compact-${engine}`, `compaction anchor: ${engine}`, 'anchor'),
};
