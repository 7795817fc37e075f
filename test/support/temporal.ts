/** A real worker with the plugin against the local Temporal dev server, on a task queue of its own. */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { PgParquetPlugin, type PgParquetPluginOptions } from '../../src/plugin.js';

/** A connected client and a running worker; `close()` stops both. */
export interface TemporalHarness {
  readonly client: Client;
  readonly taskQueue: string;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/** Starts a worker (in this process) on a fresh task queue. */
export async function startHarness(options: PgParquetPluginOptions = {}): Promise<TemporalHarness> {
  if (!runtimeInstalled) {
    // Worker lifecycle INFO lines drown the test report; warnings and errors still show.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const taskQueue = `test-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    plugins: [new PgParquetPlugin(options)],
    maxConcurrentActivityTaskExecutions: 4,
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  return {
    client,
    taskQueue,
    async close() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}
