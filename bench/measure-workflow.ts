/**
 * The full `exportTable` workflow as a user runs it: a worker child process
 * (`pg-parquet worker`, on a task queue of its own) and the client helpers, destination MinIO.
 * Wall time from start to result; peak RSS of the worker process.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { startExport, waitForExport } from '../src/client.js';
import { connectClient } from '../src/temporal-connection.js';
import { eventsTable, type BenchTable } from './bench-tables.js';
import { peakRssMib } from './child-process.js';
import { tsNodeArgs } from './paths.js';
import type { Sample } from './samples.js';

/** One workflow run. */
export interface WorkflowRun {
  readonly table: BenchTable;
  /** `s3://bucket/prefix`. */
  readonly destination: string;
  readonly partitions: number;
  readonly runKey: string;
  /** Merge the raw files into large data files (the workflow's default), or keep the raw files. */
  readonly compaction: boolean;
}

const READY_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 30 * 60_000;

type WorkerProcess = ChildProcessByStdio<null, null, Readable>;

/** Resolves once the worker says it polls; rejects if it exits or stays silent too long. */
function workerReady(worker: WorkerProcess, log: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the worker did not start polling in time')),
      READY_TIMEOUT_MS,
    );
    worker.stderr.setEncoding('utf8');
    worker.stderr.on('data', (d: string) => {
      log.text = (log.text + d).slice(-20_000);
      if (log.text.includes('polling')) {
        clearTimeout(timer);
        resolve();
      }
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`the worker exited (${signal ?? `exit ${String(code)}`}) before polling:\n${log.text}`),
      );
    });
  });
}

async function stopWorker(worker: WorkerProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.kill('SIGTERM');
  const timer = setTimeout(() => worker.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts a worker, runs one export through Temporal, stops the worker. */
export async function measureWorkflow(run: WorkflowRun): Promise<Sample> {
  const taskQueue = `pg-parquet-bench-${run.runKey}`;
  const t0 = performance.now();
  const worker = spawn(process.execPath, tsNodeArgs('src/cli/main.ts', ['worker']), {
    env: { ...process.env, PG_PARQUET_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log = { text: '' };
  const ready = workerReady(worker, log);
  ready.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  try {
    const client = await connectClient();
    try {
      await ready;
      const workerStartSeconds = (performance.now() - t0) / 1000;
      const pid = worker.pid!;
      const readyRssMib = peakRssMib(pid);
      const t1 = performance.now();
      const { handle } = await startExport(
        client,
        {
          source: { table: eventsTable(run.table) },
          destination: run.destination,
          runKey: run.runKey,
          partitions: { count: run.partitions, maxConcurrent: run.partitions },
          // The anchor casts datetimes to ms; everything else is the workflow's default.
          transform: { timestampUnit: 'ms' },
          compaction: { enabled: run.compaction },
        },
        { taskQueue },
      );
      const result = await Promise.race([
        waitForExport(handle),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the workflow did not finish in time')), RUN_TIMEOUT_MS).unref(),
        ),
      ]);
      return {
        seconds: (performance.now() - t1) / 1000,
        rows: result.rows,
        peakRssMib: peakRssMib(pid),
        bytesOut: result.bytes,
        details: {
          worker_start_seconds: workerStartSeconds,
          worker_ready_peak_rss_mib: readyRssMib,
          files: result.files,
          partitions: result.partitions,
        },
      };
    } finally {
      await client.connection.close();
    }
  } catch (err) {
    console.error(`bench: worker log:\n${log.text}`);
    throw err;
  } finally {
    await stopWorker(worker);
  }
}
