/**
 * The exportTable workflow as a user runs it: a running worker process (`pg-parquet worker`, on a
 * task queue of its own, started once before any timer) and, per run, the CLI
 * (`pg-parquet export <table> --to s3://… --wait --json`, a child process: the headline) or the
 * client library inside the bench process. Destination MinIO.
 *
 * Wall time: CLI spawn to exit (library: start to result). CPU: the worker's /proc counters
 * before and after the run, plus the CLI process's rusage (library: the bench process's
 * `process.cpuUsage()`). Peak RSS: the worker's, reset before each run through clear_refs.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { startExport, waitForExport } from '../src/client.js';
import { connectClient } from '../src/temporal-connection.js';
import { eventsTable, type BenchTable } from './bench-tables.js';
import { killChildGroup, numberField, runJsonChild, trackChild, type JsonLine } from './child-process.js';
import { cliCommand } from './paths.js';
import { peakRssMib, processCpuSeconds, resetPeakRss } from './proc-stats.js';
import type { Sample } from './samples.js';

const READY_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 30 * 60_000;
const STOP_TIMEOUT_MS = 15_000;

type WorkerProcess = ChildProcessByStdio<null, null, Readable>;

/** What the worker spent on one run. */
interface WorkerCost<T> {
  readonly value: T;
  readonly cpuSeconds: number;
  readonly peakRssMib: number;
  /** `run`: the peak of this run (clear_refs worked); `lifetime`: the worker's peak so far. */
  readonly peakRssScope: 'run' | 'lifetime';
  /** Exports this worker ran before this one (the first one meets a cold worker). */
  readonly exportsBefore: number;
}

/** `pg-parquet worker` as a child process, kept running across runs. */
export class BenchWorker {
  private exports = 0;

  private constructor(
    private readonly child: WorkerProcess,
    private readonly log: { text: string },
    /** The worker's task queue (`PG_PARQUET_TASK_QUEUE`). */
    readonly taskQueue: string,
    /** Seconds from spawn until it polled. */
    readonly startSeconds: number,
  ) {}

  /** Starts a worker on `taskQueue` and waits until it polls. */
  static async start(taskQueue: string): Promise<BenchWorker> {
    const t0 = performance.now();
    const worker = cliCommand(['worker']);
    const child = spawn(process.execPath, worker.argv, {
      env: { ...process.env, ...worker.env, PG_PARQUET_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    trackChild(child);
    const log = { text: '' };
    child.stderr.setEncoding('utf8');
    // Keeps draining stderr for the worker's whole life (a full pipe would block it).
    child.stderr.on('data', (d: string) => (log.text = (log.text + d).slice(-20_000)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('the worker did not start polling in time')),
          READY_TIMEOUT_MS,
        );
        const check = (): void => {
          if (log.text.includes('polling')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stderr.on('data', check);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the worker exited (${signal ?? `exit ${String(code)}`}) before polling`));
        });
      });
    } catch (err) {
      console.error(`bench: worker log:\n${log.text}`);
      await stopProcess(child);
      throw err;
    }
    return new BenchWorker(child, log, taskQueue, (performance.now() - t0) / 1000);
  }

  private get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`the bench worker is gone; its log:\n${this.log.text}`);
    }
    return pid;
  }

  /** Runs `fn` (one export on this worker's queue) and what the worker spent meanwhile. */
  async measure<T>(fn: () => Promise<T>): Promise<WorkerCost<T>> {
    const pid = this.pid;
    const scoped = resetPeakRss(pid);
    const cpu0 = processCpuSeconds(pid) ?? 0;
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      console.error(`bench: worker log (tail):\n${this.log.text.slice(-5000)}`);
      throw err;
    }
    const cpu1 = processCpuSeconds(this.pid) ?? cpu0;
    return {
      value,
      cpuSeconds: cpu1 - cpu0,
      peakRssMib: peakRssMib(pid) ?? NaN,
      peakRssScope: scoped ? 'run' : 'lifetime',
      exportsBefore: this.exports++,
    };
  }

  /** Stops the worker. */
  stop(): Promise<void> {
    return stopProcess(this.child);
  }
}

/** SIGTERM (the worker shuts down gracefully), SIGKILL to its group if it takes too long. */
async function stopProcess(child: WorkerProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => killChildGroup(child), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  killChildGroup(child); // anything it left behind
}

/** One export through the worker. */
export interface WorkflowRun {
  readonly worker: BenchWorker;
  readonly table: BenchTable;
  /** `s3://bucket/prefix`. */
  readonly destination: string;
  readonly partitions: number;
  readonly runKey: string;
  /** Merge the raw files into large data files (the workflow's default), or keep the raw files. */
  readonly compaction: boolean;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function workerSample<T>(
  cost: WorkerCost<T>,
  result: { rows: number; bytes: number; files: unknown; partitions: unknown },
  wallSeconds: number,
  clientCpuSeconds: number,
  extra: Record<string, unknown>,
): Sample {
  return {
    seconds: wallSeconds,
    wallSeconds,
    rows: result.rows,
    cpuSeconds: cost.cpuSeconds + clientCpuSeconds,
    peakRssMib: cost.peakRssMib,
    bytesOut: result.bytes,
    details: {
      worker_cpu_s: round3(cost.cpuSeconds),
      client_cpu_s: round3(clientCpuSeconds),
      worker_peak_rss_scope: cost.peakRssScope,
      worker_exports_before: cost.exportsBefore,
      files: result.files,
      partitions: result.partitions,
      ...extra,
    },
  };
}

/**
 * The headline: `pg-parquet export <table> --to <destination> --partitions N --run-key K --wait
 * --json` as a child process, defaults otherwise (compaction off through `--input`).
 */
export async function measureCliExport(run: WorkflowRun): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-bench-cli-'));
  try {
    const input: string[] = [];
    if (!run.compaction) {
      const file = join(dir, 'input.json');
      writeFileSync(file, JSON.stringify({ compaction: { enabled: false } }));
      input.push('--input', file);
    }
    const cli = cliCommand([
      'export',
      eventsTable(run.table),
      '--to',
      run.destination,
      '--partitions',
      String(run.partitions),
      '--run-key',
      run.runKey,
      ...input,
      '--wait',
      '--json',
    ]);
    const env = { ...process.env, ...cli.env, PG_PARQUET_TASK_QUEUE: run.worker.taskQueue };
    const cost = await run.worker.measure(() =>
      runJsonChild(process.execPath, cli.argv, { env, json: 'document', timeoutMs: RUN_TIMEOUT_MS }),
    );
    const { json, wallSeconds, usage } = cost.value;
    checkCompleted(json, run.runKey);
    const result = {
      rows: numberField(json, 'rows'),
      bytes: numberField(json, 'bytes'),
      files: json.files,
      partitions: json.partitions,
    };
    return workerSample(cost, result, wallSeconds, usage?.cpuSeconds ?? NaN, {
      cli_peak_rss_mib: usage?.maxRssMib,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkCompleted(json: JsonLine, runKey: string): void {
  if (json.status !== 'completed')
    throw new Error(`export ${runKey} did not complete: ${JSON.stringify(json)}`);
  if (json.skippedPartitions !== 0) throw new Error(`run ${runKey} skipped partitions: not measured`);
}

/**
 * The same export through the client library, from the bench process (a connected client, as an
 * application has one): the CLI's own cost is the difference.
 */
export async function measureLibraryExport(run: WorkflowRun): Promise<Sample> {
  const client = await connectClient();
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const cost = await run.worker.measure(async () => {
      const { handle } = await startExport(
        client,
        {
          source: { table: eventsTable(run.table) },
          destination: run.destination,
          runKey: run.runKey,
          partitions: { count: run.partitions },
          compaction: { enabled: run.compaction },
        },
        { taskQueue: run.worker.taskQueue },
      );
      return await Promise.race([
        waitForExport(handle),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the workflow did not finish in time')), RUN_TIMEOUT_MS).unref(),
        ),
      ]);
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const result = cost.value;
    if (result.skippedPartitions !== 0) throw new Error(`run ${run.runKey} skipped partitions: not measured`);
    return {
      ...workerSample(cost, result, wallSeconds, (cpu.user + cpu.system) / 1e6, {}),
      wallSeconds: undefined,
    };
  } finally {
    await client.connection.close();
  }
}
