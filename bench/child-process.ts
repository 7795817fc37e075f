/** Measured child processes: each prints one JSON line, and its peak RSS is its own. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A parsed JSON line: the fields the bench reads are checked with {@link numberField}. */
export type JsonLine = Readonly<Record<string, unknown>>;

/** What a child printed, and the peak RSS the parent saw from outside. */
export interface ChildResult {
  readonly json: JsonLine;
  /** Peak RSS (VmHWM) of the child as last polled, in MiB; undefined if never read. */
  readonly polledPeakRssMib: number | undefined;
}

/** Options of {@link runJsonChild}. */
export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) after this long. Default 30 minutes. */
  readonly timeoutMs?: number;
}

/**
 * Peak resident set size (VmHWM) of a live process, in MiB; undefined once it has exited.
 * Linux only (reads /proc).
 */
export function peakRssMib(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the password of every `scheme://user:password@` URL in `text` with `***`. */
function redactPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

/** The last line of `stdout` that parses as a JSON object. */
function lastJsonLine(stdout: string): JsonLine | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as JsonLine;
    } catch {
      // Not JSON after all: keep looking.
    }
  }
  return undefined;
}

/** A finite number field of a JSON line. @throws TypeError when it is missing or not a number. */
export function numberField(json: JsonLine, key: string): number {
  const v = json[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TypeError(`expected a number in field "${key}" of ${JSON.stringify(json)}`);
  }
  return v;
}

/**
 * Runs `cmd args`, lets its stderr through, and returns the last JSON line of its stdout.
 * @throws Error when it exits non-zero, times out or prints no JSON line.
 */
export async function runJsonChild(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ChildResult> {
  const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (stdout += d));
  let polled: number | undefined;
  const poll = setInterval(() => {
    const rss = child.pid === undefined ? undefined : peakRssMib(child.pid);
    if (rss !== undefined) polled = Math.max(polled ?? 0, rss);
  }, 100);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30 * 60_000);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, s) => resolve({ code: c, signal: s }));
      },
    );
    const what = redactPasswords(`${cmd} ${args.join(' ')}`);
    if (code !== 0) throw new Error(`${what} failed (${signal ?? `exit ${String(code)}`})`);
    const json = lastJsonLine(stdout);
    if (!json) throw new Error(`${what} printed no JSON line; its stdout: ${stdout.slice(-2000)}`);
    return { json, polledPeakRssMib: polled };
  } finally {
    clearInterval(poll);
    clearTimeout(timer);
  }
}
