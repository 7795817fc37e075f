/** A real worker with the plugin against the local Temporal dev server, on a task queue of its own. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
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

/** A run that failed: the failure it surfaced and its history. */
export interface FailedRun {
  readonly failure: ApplicationFailure;
  readonly history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
}

/**
 * Runs exportTable with `input` on the harness's task queue and expects it to fail with an
 * ApplicationFailure (the typed failure a workflow surfaces): returns it and the run's history.
 */
export async function expectExportFailure(harness: TemporalHarness, input: unknown): Promise<FailedRun> {
  const workflowId = `it-fail-${randomUUID()}`;
  const err = await harness.client.workflow
    .execute('exportTable', { taskQueue: harness.taskQueue, workflowId, args: [input] })
    .then(
      () => assert.fail('the export should fail'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
  return { failure: err.cause, history };
}

/**
 * How many activities a run scheduled that read the table or touch the destination (every attempt
 * of a retried one counts once). Taking the run's snapshot, before planning, is left out: it
 * reads nothing of the table and writes nothing.
 */
export function scheduledActivities(history: FailedRun['history']): number {
  return (history.events ?? []).filter(
    (e) =>
      e.activityTaskScheduledEventAttributes &&
      e.activityTaskScheduledEventAttributes.activityType?.name !== SNAPSHOT_ACTIVITY,
  ).length;
}

/** The activity that takes a run's snapshot before planning: it reads nothing of the table and writes nothing. */
export const SNAPSHOT_ACTIVITY = 'pgParquetTakeSnapshot';
