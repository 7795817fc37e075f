/**
 * A private copy of the local stack (PostgreSQL, Temporal dev server, MinIO) on free ports with
 * its own data folder, for tests that kill or restart a service: the shared stack other tests
 * and people use is never touched. It is started by scripts/stack.sh itself (cached binaries, so
 * it takes seconds), which keeps one way of running the services; Temporal keeps its state in
 * `<dir>/temporal/temporal.db`, so a restarted dev server still knows its running workflows.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const STACK_SH = fileURLToPath(new URL('../../scripts/stack.sh', import.meta.url));
const run = promisify(execFile);

/** A service of the stack. */
export type StackService = 'postgres' | 'temporal' | 'minio';

/** A running private stack. */
export interface PrivateStack {
  /** Its data folder. */
  readonly dir: string;
  /**
   * Its settings as `stack.sh env` prints them (DATABASE_URL, TEMPORAL_ADDRESS,
   * AWS_ENDPOINT_URL_S3, credentials, the demo bucket): pass them to worker processes and clients.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Stops one service abruptly and waits until it is gone: SIGKILL for Temporal and MinIO, an
   * immediate shutdown (SIGQUIT: no checkpoint, crash recovery at the next start) for PostgreSQL,
   * whose postmaster must not be SIGKILLed with live backends.
   */
  kill(service: StackService): Promise<void>;
  /** Starts whatever is stopped (`stack.sh up`, idempotent) and waits until it answers. */
  up(): Promise<void>;
  /** Stops every service and deletes the data folder. */
  close(): Promise<void>;
}

/** A TCP port nobody listens on right now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Parses `export NAME='value'` lines (the shell quoting stack.sh writes: '…'\''…'). */
function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^'|'$/g, '').replaceAll(`'\\''`, `'`);
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > end) throw new Error(`process ${pid} did not exit`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a private stack on fresh ports (about 10 s: a new PostgreSQL cluster is initialised). */
export async function startPrivateStack(): Promise<PrivateStack> {
  const dir = mkdtempSync(join(tmpdir(), 'pgpq-stack-'));
  // As root, stack.sh runs PostgreSQL as `postgres`, which must be able to enter the folder.
  chmodSync(dir, 0o755);
  const ports = new Set<number>();
  while (ports.size < 5) ports.add(await freePort());
  const [pg, temporal, temporalUi, minio, minioConsole] = [...ports];
  const settings = {
    PG_PARQUET_STACK_DIR: dir,
    PG_PARQUET_PG_PORT: String(pg),
    PG_PARQUET_TEMPORAL_PORT: String(temporal),
    PG_PARQUET_TEMPORAL_UI_PORT: String(temporalUi),
    PG_PARQUET_MINIO_PORT: String(minio),
    PG_PARQUET_MINIO_CONSOLE_PORT: String(minioConsole),
  };
  const stackSh = (command: 'up' | 'down' | 'env') =>
    run('bash', [STACK_SH, command], {
      env: { ...process.env, ...settings },
      timeout: 300_000,
      maxBuffer: 1 << 20,
    });
  const up = async () => {
    try {
      await stackSh('up');
    } catch (err) {
      const e = err as { stderr?: string };
      throw new Error(`private stack in ${dir} did not start:\n${e.stderr ?? String(err)}`);
    }
  };
  await up();
  const env = parseExports((await stackSh('env')).stdout);

  // Where stack.sh put the cluster: <dir>/pg, or (root, folder closed to `postgres`) under /var/lib.
  const pgHomes = [
    join(dir, 'pg'),
    `/var/lib/temporal-pg-parquet/pg-${createHash('md5').update(dir).digest('hex').slice(0, 10)}`,
  ];
  const pidOf = (service: StackService): number | undefined => {
    const files =
      service === 'postgres'
        ? pgHomes.map((h) => join(h, 'data', 'postmaster.pid'))
        : [join(dir, `${service}.pid`)];
    for (const f of files) {
      if (!existsSync(f)) continue;
      const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return pid;
    }
    return undefined;
  };

  return {
    dir,
    env,
    async kill(service) {
      const pid = pidOf(service);
      if (pid === undefined) throw new Error(`${service} of the private stack is not running`);
      process.kill(pid, service === 'postgres' ? 'SIGQUIT' : 'SIGKILL');
      await waitGone(pid);
    },
    up,
    async close() {
      await stackSh('down').catch(() => undefined);
      for (const service of ['temporal', 'minio', 'postgres'] as const) {
        const pid = pidOf(service);
        if (pid !== undefined) {
          process.kill(pid, 'SIGKILL');
          await waitGone(pid).catch(() => undefined);
        }
      }
      for (const d of [dir, pgHomes[1]!]) rmSync(d, { recursive: true, force: true });
    },
  };
}
