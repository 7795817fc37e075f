/**
 * What a running extraction activity tells its workflow run between heartbeats, so that the
 * `progress` query moves during a partition. The workflow side is `workflows/live-progress.ts`
 * (which explains why a report is a Workflow Update that is always rejected); the activity side
 * is `activities/progress-reports.ts`.
 */

/**
 * Name of the Update through which extraction activities report their partitions' progress; its
 * one argument is a list of {@link PartitionProgressReport}s (all partitions of the run that one
 * worker process extracts).
 */
export const PARTITION_PROGRESS_UPDATE = 'pgParquetPartitionProgress';

/** One partition's progress, as its extraction activity reports it after a stored batch. */
export interface PartitionProgressReport {
  readonly partition: number;
  /** The activity's attempt (1, 2, …): a later attempt's report replaces an earlier one's. */
  readonly attempt: number;
  /** Rows and bytes stored so far in this partition, batches kept from earlier attempts included. */
  readonly rows: number;
  readonly bytes: number;
}
