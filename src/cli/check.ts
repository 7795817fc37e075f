/**
 * `pg-parquet check`: can this machine reach PostgreSQL (the named connection, resolved the way
 * the worker does), Temporal, and the destination? Says which one fails.
 */
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { parseDestination } from '../contract/destination-url.js';
import { connect, resolveConnection } from '../postgres/connection.js';
import { isPgDatabaseError } from '../postgres/sqlstate.js';
import { openObjectStore } from '../storage/destination.js';
import { connectClient, taskQueueFromEnv } from '../temporal-connection.js';
import { summarizeFailure, type FailureSummary } from './failure.js';
import { withTimeout } from './run-info.js';

/** The result of one check. */
export interface CheckResult {
  readonly name: 'postgres' | 'temporal' | 'destination';
  /** `ok`, `failed`, or `skipped` (nothing to check, e.g. no `--to`). */
  readonly status: 'ok' | 'failed' | 'skipped';
  /** What was checked and what was found (human text). */
  readonly detail: string;
  readonly ms: number;
  readonly error: FailureSummary | null;
}

/** Options of {@link runChecks}. */
export interface CheckOptions {
  readonly connection: string;
  readonly to?: string;
  readonly timeoutMs: number;
}

async function timed(
  name: CheckResult['name'],
  timeoutMs: number,
  fn: () => Promise<string>,
): Promise<CheckResult> {
  const t0 = Date.now();
  try {
    const detail = await withTimeout(fn(), timeoutMs);
    if (detail === undefined) {
      throw new PgParquetError(
        name === 'temporal'
          ? ErrorType.TemporalUnavailable
          : name === 'postgres'
            ? ErrorType.SourceUnavailable
            : ErrorType.StorageError,
        `no answer within ${timeoutMs / 1000} s`,
        true,
      );
    }
    return { name, status: 'ok', detail, ms: Date.now() - t0, error: null };
  } catch (err) {
    return { name, status: 'failed', detail: '', ms: Date.now() - t0, error: summarizeFailure(err) };
  }
}

async function checkPostgres(name: string): Promise<string> {
  const config = resolveConnection(name);
  let client;
  try {
    client = await connect({ ...config, connectionTimeoutMillis: 10_000 });
    const r = await client.query<{ one: number; version: string }>(
      "SELECT 1 AS one, current_setting('server_version') AS version",
    );
    return `connection "${name}": SELECT 1 answered ${r.rows[0]?.one} (PostgreSQL ${r.rows[0]?.version})`;
  } catch (err) {
    if (err instanceof PgParquetError) throw err;
    const e = err as Error & { code?: string };
    if (isPgDatabaseError(err)) {
      throw new PgParquetError(
        ErrorType.SourceError,
        `connection "${name}": ${e.message} (SQLSTATE ${e.code})`,
        false,
        {
          sqlstate: e.code,
        },
      );
    }
    throw new PgParquetError(
      ErrorType.SourceUnavailable,
      `connection "${name}": ${e.code ? `${e.code}: ` : ''}${e.message || String(err)}`,
      true,
    );
  } finally {
    await client?.end().catch(() => undefined);
  }
}

async function checkTemporal(): Promise<string> {
  let client;
  try {
    client = await connectClient();
  } catch (err) {
    throw new PgParquetError(
      ErrorType.TemporalUnavailable,
      `cannot connect to Temporal at ${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'}: ${(err as Error).message}`,
      true,
    );
  }
  try {
    const service = client.connection.workflowService;
    try {
      await service.describeNamespace({ namespace: client.options.namespace });
    } catch (err) {
      throw new PgParquetError(
        ErrorType.TemporalUnavailable,
        `Temporal refused namespace "${client.options.namespace}": ${(err as Error).message}`,
        false,
      );
    }
    const taskQueue = taskQueueFromEnv();
    const tq = await service
      .describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: 1,
      })
      .catch(() => undefined);
    const pollers = tq?.pollers?.length;
    const workers =
      pollers === undefined
        ? ''
        : pollers === 0
          ? ', no worker polling it yet'
          : `, ${pollers} worker(s) polling`;
    return `namespace "${client.options.namespace}", task queue "${taskQueue}"${workers}`;
  } finally {
    await client.connection.close().catch(() => undefined);
  }
}

async function checkDestination(url: string): Promise<string> {
  const dest = parseDestination(url);
  if (dest.scheme === 'file') {
    // The store creates the folder on first write: the nearest existing folder must be writable.
    let dir = dest.path;
    for (;;) {
      const st = await stat(dir).catch(() => undefined);
      if (st) {
        if (!st.isDirectory()) {
          throw new PgParquetError(ErrorType.DestinationNotFound, `${dir} is not a folder`, false, {
            path: dir,
          });
        }
        try {
          await access(dir, constants.W_OK | constants.X_OK);
        } catch {
          throw new PgParquetError(
            ErrorType.DestinationDenied,
            `${dir} is not writable by this user`,
            false,
            {
              path: dir,
            },
          );
        }
        return dir === dest.path
          ? `folder ${dir} exists and is writable`
          : `${dir} is writable; ${dest.path} will be created`;
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    throw new PgParquetError(ErrorType.DestinationNotFound, `no folder of ${dest.path} exists`, false);
  }
  // One listing request under a prefix that holds nothing: proves the bucket, the credentials
  // and list permission without reading the destination's content.
  const store = openObjectStore(url);
  await store.list('_pg-parquet-check/');
  return `${store.url}: bucket reachable, listing allowed`;
}

/** Runs the three checks side by side. */
export async function runChecks(o: CheckOptions): Promise<CheckResult[]> {
  return Promise.all([
    timed('postgres', o.timeoutMs, () => checkPostgres(o.connection)),
    timed('temporal', o.timeoutMs, checkTemporal),
    o.to === undefined
      ? Promise.resolve<CheckResult>({
          name: 'destination',
          status: 'skipped',
          detail: 'no --to given',
          ms: 0,
          error: null,
        })
      : timed('destination', o.timeoutMs, () => checkDestination(o.to!)),
  ]);
}

/** The human form: one line per check. */
export function printChecks(results: readonly CheckResult[]): void {
  for (const r of results) {
    const what = r.status === 'failed' ? `${r.error!.type}: ${r.error!.message}` : r.detail;
    console.log(
      `${r.name.padEnd(12)} ${r.status.padEnd(7)} ${what}${r.status === 'skipped' ? '' : ` (${r.ms} ms)`}`,
    );
  }
}
