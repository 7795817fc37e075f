/**
 * Workflow entry point of the plugin. Re-export it from your own workflows file to run our
 * workflows beside yours: `export * from 'temporal-pg-parquet/workflows';`
 */
export { exportTable, progressQuery } from './export-table.js';
export type { ExportPhase, ExportProgress, ExportTableInput, ExportTableResult } from './export-table.js';
export type { RunningPartition } from './live-progress.js';
export { exportTables, tablesProgressQuery } from './export-tables.js';
export type {
  ExportTablesInput,
  ExportTablesProgress,
  ExportTablesResult,
  TableExportSummary,
} from './export-tables.js';
export { exportWorkflowId, runKeyFromTime, runKeyFromWorkflowId, WORKFLOW_ID_PREFIX } from './run-key.js';
