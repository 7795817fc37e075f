/**
 * Temporal connection settings from the standard environment (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS variables, profiles) through @temporalio/envconfig,
 * so the worker, the CLI and the tests read the same variables as the `temporal` CLI.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnection } from '@temporalio/worker';
import { DEFAULT_TASK_QUEUE } from './contract/export-input.js';

/** The task queue of the worker and the CLI: `PG_PARQUET_TASK_QUEUE` or `pg-parquet`. */
export function taskQueueFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.PG_PARQUET_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

function connectConfig() {
  const config = loadClientConnectConfig();
  return {
    options: { ...config.connectionOptions, address: config.connectionOptions.address ?? '127.0.0.1:7233' },
    namespace: config.namespace ?? 'default',
  };
}

/** A client connected per the environment. Close it with `client.connection.close()`. */
export async function connectClient(): Promise<Client> {
  const { options, namespace } = connectConfig();
  const connection = await Connection.connect(options);
  return new Client({ connection, namespace });
}

/** A worker connection per the environment, and the namespace to use. */
export async function connectWorker(): Promise<{ connection: NativeConnection; namespace: string }> {
  const { options, namespace } = connectConfig();
  // Loaded here, not at the top: clients (the CLI's export, status, …) never need the native core.
  const { NativeConnection: Native } = await import('@temporalio/worker');
  return { connection: await Native.connect(options), namespace };
}
