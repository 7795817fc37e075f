/**
 * CPU and memory of processes from /proc (Linux): the exporter's own process, a long-lived worker
 * (difference of its counters around a run) and PostgreSQL's server process tree.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';

/** Clock ticks per second of /proc/<pid>/stat's times (`getconf CLK_TCK`, 100 almost everywhere). */
const CLK_TCK = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** The fields of /proc/<pid>/stat the bench reads. */
interface ProcStat {
  readonly ppid: number;
  /** utime + stime of the process (all its threads), seconds. */
  readonly ownSeconds: number;
  /** cutime + cstime: its children that exited and were waited for, seconds. */
  readonly childrenSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone, or not visible from here
  }
  // The command name (field 2) may contain spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime…cstime fields 14…17.
  const num = (field: number): number => Number(f[field - 3]);
  return {
    ppid: num(4),
    ownSeconds: (num(14) + num(15)) / CLK_TCK,
    childrenSeconds: (num(16) + num(17)) / CLK_TCK,
  };
}

/**
 * CPU seconds (user + sys, every thread, plus waited-for children) a live process has used so far;
 * undefined once it is gone.
 */
export function processCpuSeconds(pid: number): number | undefined {
  const s = readStat(pid);
  return s && s.ownSeconds + s.childrenSeconds;
}

/**
 * CPU seconds of a process tree one level deep: the root (with its exited children, which it has
 * waited for) plus every live child. Taken before and after a run, the difference is what the
 * tree spent meanwhile, children that came and went included.
 */
export function processTreeCpuSeconds(rootPid: number): number | undefined {
  const root = readStat(rootPid);
  if (!root) return undefined;
  let total = root.ownSeconds + root.childrenSeconds;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s?.ppid === rootPid) total += s.ownSeconds + s.childrenSeconds;
  }
  return total;
}

/** Whether `pid` is a PostgreSQL server process (its command line names postgres). */
function isPostgres(pid: number): boolean {
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The PostgreSQL postmaster's pid: the parent of the backend serving a fresh connection.
 * Undefined when the server's processes are not visible here (another host or pid namespace).
 */
export async function findPostmaster(databaseUrl: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = r.rows[0]?.pid;
    // The server's pid may mean another process here (a container's pid namespace): check names.
    if (backend === undefined || !isPostgres(backend)) return undefined;
    const parent = readStat(backend)?.ppid;
    return parent !== undefined && parent > 1 && isPostgres(parent) ? parent : undefined;
  } finally {
    await client.end();
  }
}

/** Peak resident set size (VmHWM) of a live process, in MiB; undefined once it has exited. */
export function peakRssMib(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resets a process's peak RSS to its current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0,
 * own processes only), so that VmHWM afterwards is the peak of what follows.
 * @returns false when the kernel refused.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
