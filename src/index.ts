/** temporal-pg-parquet: export PostgreSQL tables to Parquet on S3 with Temporal. */
export { PgParquetPlugin, WORKFLOWS_PATH, PLUGIN_NAME, type PgParquetPluginOptions } from './plugin.js';
export { createActivities, type ActivityDeps, type PgParquetActivities } from '../activities/index.js';
export {
  startExport,
  waitForExport,
  queryProgress,
  scheduleExport,
  EXPORT_WORKFLOW_TYPE,
  type StartExportOptions,
  type StartedExport,
  type ScheduleExportOptions,
} from './client.js';
export { createWorker, DEFAULT_MAX_CONCURRENT_ACTIVITIES, type CreateWorkerOptions } from './worker.js';
export { connectClient, connectWorker, taskQueueFromEnv } from './temporal-connection.js';
export * from './contract/export-input.js';
export * from './contract/errors.js';
export type { Manifest, ManifestColumn, ManifestFile, ManifestPartition } from './storage/manifest.js';
export type { ExportProgress, ExportTableResult, ExportPhase } from '../workflows/export-table.js';
export { exportWorkflowId } from '../workflows/run-key.js';
