/** A `pg-parquet worker` as a separate OS process, so that tests can SIGKILL it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A running worker process. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts a worker on `taskQueue` and resolves once it polls (it prints a line when ready); `env`
 * adds to or overrides this process's environment (e.g. an S3 endpoint behind a test proxy).
 */
export async function startWorkerProcess(
  taskQueue: string,
  env: Readonly<Record<string, string>> = {},
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'worker', '--max-activities', '2'], {
    env: { ...process.env, ...env, PG_PARQUET_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${log}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('polling task queue')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${log}`));
    });
  });
  // Give the worker a moment past "polling" so that it really has pollers on the queue.
  await new Promise((r) => setTimeout(r, 500));
  return {
    child,
    output: () => log,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls `check` every 100 ms until it returns true (or fails after `timeoutMs`). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The worker processes of one test file and a Temporal client to start runs on them: `worker()`
 * starts one more, `close()` kills them all and closes the connection.
 */
export class WorkerFleet {
  private readonly workers: WorkerProcess[] = [];

  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
  ) {}

  static async connect(): Promise<WorkerFleet> {
    const connection = await Connection.connect({
      address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    });
    return new WorkerFleet(new Client({ connection }), connection);
  }

  async worker(taskQueue: string, env?: Readonly<Record<string, string>>): Promise<WorkerProcess> {
    const w = await startWorkerProcess(taskQueue, env);
    this.workers.push(w);
    return w;
  }

  async close(): Promise<void> {
    for (const w of this.workers) await w.kill().catch(() => undefined);
    await this.connection.close();
  }
}
