/** Facts about the machine and the code a bench ran on, for the report. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { ROOT } from './paths.js';

/** What the numbers depend on. */
export interface MachineFacts {
  readonly nproc: number;
  readonly cpu_model: string;
  readonly mem_gib: number;
  readonly node: string;
  readonly postgres: string;
  readonly platform: string;
  /** The project's commit, with `-dirty` when the work tree has changes. */
  readonly git: string;
  /** 1-minute load average when the bench started and when it ended: other work skews the figures. */
  readonly load_avg: { readonly start: number; readonly end: number };
  /** Versions of the Python anchors' packages (empty when the anchors did not run). */
  readonly anchors: Readonly<Record<string, string>>;
}

function gitDescribe(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return loadavg()[0] ?? 0;
}

/** Collects {@link MachineFacts}. */
export function machineFacts(
  postgres: string,
  anchors: Readonly<Record<string, string>>,
  loadAtStart: number,
): MachineFacts {
  return {
    nproc: availableParallelism(),
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    mem_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres,
    platform: `${process.platform}-${process.arch}`,
    git: gitDescribe(),
    load_avg: { start: loadAtStart, end: loadAverage() },
    anchors,
  };
}
