/** temporal-pg-parquet: export PostgreSQL tables to Parquet on S3 with Temporal. */
export { PgParquetPlugin, WORKFLOWS_PATH, PLUGIN_NAME, type PgParquetPluginOptions } from './plugin.js';
export { createActivities, type ActivityDeps, type PgParquetActivities } from '../activities/index.js';
export {
  startExport,
  waitForExport,
  queryProgress,
  scheduleExport,
  scheduleExportTables,
  startExportTables,
  type StartExportTablesOptions,
  EXPORT_WORKFLOW_TYPE,
  EXPORT_TABLES_WORKFLOW_TYPE,
  type StartExportOptions,
  type StartedExport,
  type ScheduleExportOptions,
  OVERLAP_POLICIES,
  type OverlapPolicy,
} from './client.js';
export {
  listExportSchedules,
  describeExportSchedule,
  triggerExportSchedule,
  backfillExportSchedule,
  pauseExportSchedule,
  unpauseExportSchedule,
  deleteExportSchedule,
  type BackfillOptions,
  type ExportSchedule,
  type ExportScheduleDetails,
  type ScheduledRun,
} from './schedules.js';
export { createWorker, DEFAULT_MAX_CONCURRENT_ACTIVITIES, type CreateWorkerOptions } from './worker.js';
export { connectClient, connectWorker, taskQueueFromEnv } from './temporal-connection.js';
export {
  resolveExportInput,
  COMPACTION_MODES,
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_ROWS,
  DEFAULT_CONNECTION,
  DEFAULT_MAX_CONCURRENT,
  DEFAULT_ROW_GROUP_ROWS,
  DEFAULT_TARGET_FILE_BYTES,
  DEFAULT_TARGET_PARTITION_BYTES,
  DEFAULT_TASK_QUEUE,
  MAX_PARTITIONS,
  PARTITION_STRATEGIES,
  type CompactionMode,
  type ExportTableInput,
  type PartitionStrategy,
  type ResolvedExportInput,
  type TimestampUnit,
} from './contract/export-input.js';
export { COMPRESSIONS, type Compression } from './contract/compression.js';
export type { InfinityMode, TypeOptions } from './contract/type-options.js';
export { ErrorType, InputError, PgParquetError, type ErrorTypeName } from './contract/errors.js';
export type { Manifest, ManifestColumn, ManifestFile, ManifestPartition } from './run/manifest.js';
export type { ExportProgress, ExportTableResult, ExportPhase } from '../workflows/export-table.js';
export type { RunningPartition } from '../workflows/live-progress.js';
export {
  exportWorkflowId,
  exportScheduleWorkflowId,
  exportTablesWorkflowId,
  runKeyFromWorkflowId,
} from '../workflows/run-key.js';
export {
  resolveExportTablesInput,
  DEFAULT_TABLES_CONCURRENT,
  type ExportTablesInput,
  type ResolvedExportTablesInput,
} from './contract/export-tables-input.js';
export type {
  ExportTablesProgress,
  ExportTablesResult,
  TableExportSummary,
} from '../workflows/export-tables.js';
