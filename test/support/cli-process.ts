/** The `pg-parquet` CLI as a child process of a test, on the test's own task queue. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI's entry point (run with tsx, as `npm run pg-parquet` does). */
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs `pg-parquet <args>` to its end; what it printed, its exit code. */
export type CliRun = (args: readonly string[], extra?: NodeJS.ProcessEnv) => SpawnSyncReturns<string>;

/** The environment of a CLI process: this one's, the task queue, no Node warnings, then `extra`. */
export function cliEnv(taskQueue: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PG_PARQUET_TASK_QUEUE: taskQueue, NODE_NO_WARNINGS: '1', ...extra };
}

/** A {@link CliRun} whose processes use `taskQueue`; each gets at most `timeoutMs`. */
export function cliOn(taskQueue: string, timeoutMs = 120_000): CliRun {
  return (args, extra = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
      encoding: 'utf8',
      env: cliEnv(taskQueue, extra),
      timeout: timeoutMs,
    });
}

/** Parses a CLI's `--json` output. */
export function json<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** The `progress key=value …` lines a `--wait` without a terminal prints on stderr, parsed. */
export function progressLines(stderr: string): Record<string, string>[] {
  return stderr
    .split('\n')
    .map((l) => /\bprogress ((?:\w+=\S+ ?)+)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined)
    .map((l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('=') as [string, string])));
}
