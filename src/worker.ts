/** Running a worker with the plugin: what `pg-parquet worker` and `pg-parquet demo` do. */
import { Worker, type NativeConnection } from '@temporalio/worker';
import { sharedEncoder } from './parquet/encoder-pool.js';
import { PgParquetPlugin, type PgParquetPluginOptions } from './plugin.js';
import { connectWorker, taskQueueFromEnv } from './temporal-connection.js';

/**
 * Parallel activities per worker. Each extraction holds up to three batches in memory (one being
 * decoded, two being encoded or stored), and all share the process's encoder threads
 * (`PG_PARQUET_ENCODER_THREADS`), so a small number keeps memory bounded; scale out with workers.
 */
export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 4;

/** Options of {@link createWorker}. */
export interface CreateWorkerOptions extends PgParquetPluginOptions {
  readonly taskQueue?: string;
  readonly connection?: NativeConnection;
  readonly namespace?: string;
  readonly maxConcurrentActivities?: number;
}

/** Creates (does not run) a worker on the exporter's task queue. */
export async function createWorker(options: CreateWorkerOptions = {}): Promise<Worker> {
  // Start the encoder threads with the worker, not with its first extraction.
  if (!options.encoder) sharedEncoder();
  const own = options.connection ? undefined : await connectWorker();
  const connection = options.connection ?? own!.connection;
  return Worker.create({
    connection,
    namespace: options.namespace ?? own?.namespace ?? 'default',
    taskQueue: options.taskQueue ?? taskQueueFromEnv(),
    plugins: [new PgParquetPlugin(options)],
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? DEFAULT_MAX_CONCURRENT_ACTIVITIES,
  });
}
