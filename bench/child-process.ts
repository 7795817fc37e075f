/**
 * Measured child processes: each prints JSON on stdout; the bench takes its wall time from
 * outside and its CPU time and peak RSS from the kernel (wait4 rusage, through GNU time).
 * Every child runs in a process group of its own, killed on timeout and when the bench exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

/** A parsed JSON object: the fields the bench reads are checked with {@link numberField}. */
export type JsonLine = Readonly<Record<string, unknown>>;

/** Resources a child used, as the kernel counted them when it was reaped. */
export interface ChildUsage {
  /** user + sys CPU seconds of the child, its threads and its waited-for descendants. */
  readonly cpuSeconds: number;
  readonly userSeconds: number;
  readonly sysSeconds: number;
  /** ru_maxrss: the largest peak RSS of the child or of one of its descendants, MiB. */
  readonly maxRssMib: number;
}

/** What a child printed, and what it cost. */
export interface ChildResult {
  readonly json: JsonLine;
  /** Spawn to exit, seconds, measured by the bench. */
  readonly wallSeconds: number;
  /** Undefined where GNU time (/usr/bin/time) is missing. */
  readonly usage: ChildUsage | undefined;
}

/** Options of {@link runJsonChild}. */
export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child's process group (SIGKILL) after this long. Default 30 minutes. */
  readonly timeoutMs?: number;
  /** `line`: the last stdout line that is a JSON object (default); `document`: all of stdout. */
  readonly json?: 'line' | 'document';
}

/** GNU time: runs a command and writes its rusage (wait4) to a file. */
const GNU_TIME = '/usr/bin/time';
const HAS_GNU_TIME = existsSync(GNU_TIME);

/** Process groups of live children, killed when the bench exits or is interrupted. */
const liveGroups = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

process.once('exit', () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
    process.exit(128 + constants.signals[signal]);
  });
}

/**
 * Keeps `child` (spawned with `detached: true`, i.e. leader of its own process group) on the list
 * of groups to kill on exit, until it exits.
 */
export function trackChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  liveGroups.add(pid);
  child.once('exit', () => liveGroups.delete(pid));
}

/** Kills the process group of a tracked child. */
export function killChildGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid !== undefined) killGroup(child.pid, signal);
}

/** Replaces the password of every `scheme://user:password@` URL in `text` with `***`. */
function redactPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

function asObject(v: unknown): JsonLine | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonLine) : undefined;
}

/** The last line of `stdout` that parses as a JSON object. */
function lastJsonLine(stdout: string): JsonLine | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v = asObject(JSON.parse(t));
      if (v) return v;
    } catch {
      // Not JSON after all: keep looking.
    }
  }
  return undefined;
}

function jsonDocument(stdout: string): JsonLine | undefined {
  try {
    return asObject(JSON.parse(stdout));
  } catch {
    return undefined;
  }
}

/** A finite number field of a JSON line. @throws TypeError when it is missing or not a number. */
export function numberField(json: JsonLine, key: string): number {
  const v = json[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TypeError(`expected a number in field "${key}" of ${JSON.stringify(json)}`);
  }
  return v;
}

/** Parses GNU time's `-f '%U %S %M'` line. */
function readUsage(file: string): ChildUsage | undefined {
  try {
    const [user, sys, maxRssKb] = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .at(-1)!
      .split(' ')
      .map(Number);
    if (![user, sys, maxRssKb].every((n) => Number.isFinite(n))) return undefined;
    return {
      cpuSeconds: user! + sys!,
      userSeconds: user!,
      sysSeconds: sys!,
      maxRssMib: maxRssKb! / 1024,
    };
  } catch {
    return undefined;
  }
}

/**
 * Runs `cmd args` (under GNU time when there is one), lets its stderr through, and returns its
 * JSON output, wall time and resource usage.
 * @throws Error when it exits non-zero, times out or prints no JSON.
 */
export async function runJsonChild(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ChildResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-bench-time-'));
  const usageFile = join(dir, 'usage');
  const [file, argv] = HAS_GNU_TIME
    ? [GNU_TIME, ['-o', usageFile, '-f', '%U %S %M', cmd, ...args]]
    : [cmd, [...args]];
  const t0 = performance.now();
  const child = spawn(file, argv, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  trackChild(child);
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (stdout += d));
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      killChildGroup(child);
    },
    options.timeoutMs ?? 30 * 60_000,
  );
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, s) => resolve({ code: c, signal: s }));
      },
    );
    const wallSeconds = (performance.now() - t0) / 1000;
    // Whatever the child left running in its group goes with it.
    killChildGroup(child);
    const what = redactPasswords(`${cmd} ${args.join(' ')}`);
    if (timedOut) throw new Error(`${what} timed out and was killed`);
    if (code !== 0) {
      throw new Error(
        `${what} failed (${signal ?? `exit ${String(code)}`}); its stdout: ${redactPasswords(stdout.slice(-2000))}`,
      );
    }
    const json = options.json === 'document' ? jsonDocument(stdout) : lastJsonLine(stdout);
    if (!json)
      throw new Error(`${what} printed no JSON; its stdout: ${redactPasswords(stdout.slice(-2000))}`);
    return { json, wallSeconds, usage: HAS_GNU_TIME ? readUsage(usageFile) : undefined };
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `Sample` fields a child's {@link ChildResult} gives, and its rusage for the details. */
export function processFields(r: ChildResult): {
  wallSeconds: number;
  cpuSeconds: number | undefined;
  usage: Record<string, number>;
} {
  const u = r.usage;
  return {
    wallSeconds: r.wallSeconds,
    cpuSeconds: u?.cpuSeconds,
    usage: u ? { cpu_user_s: u.userSeconds, cpu_sys_s: u.sysSeconds, rusage_max_rss_mib: u.maxRssMib } : {},
  };
}
