/**
 * Resolves a connection *name* (the only thing that travels in workflow input) to settings the
 * worker reads from its own environment, so no secret ever enters workflow history.
 */
import pg from 'pg';
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** `application_name` of every session we open: visible in pg_stat_activity. */
const APPLICATION_NAME = 'pg-parquet';

/** The environment variable that holds the URL of connection `name` (other than `default`). */
function connectionEnvVar(name: string): string {
  return `PG_PARQUET_CONNECTION_${name.toUpperCase()}`;
}

/**
 * `default` → `DATABASE_URL`, or else the standard `PG*` variables (PGHOST, PGUSER, …) that pg
 * reads itself; any other name `x` → `PG_PARQUET_CONNECTION_X`.
 */
export function resolveConnection(name: string, env: NodeJS.ProcessEnv = process.env): pg.ClientConfig {
  const base: pg.ClientConfig = { application_name: APPLICATION_NAME };
  if (name === 'default') {
    const url = env.DATABASE_URL;
    if (url) return { ...base, connectionString: url };
    if (env.PGHOST || env.PGDATABASE || env.PGUSER || env.PGSERVICE) return base;
    throw notConfigured(name, 'DATABASE_URL (or the PG* variables)');
  }
  const variable = connectionEnvVar(name);
  const url = env[variable];
  if (!url) throw notConfigured(name, variable);
  return { ...base, connectionString: url };
}

function notConfigured(name: string, variable: string): PgParquetError {
  return new PgParquetError(
    ErrorType.ConnectionNotConfigured,
    `connection "${name}" is not configured on this worker: set ${variable} in the worker's environment`,
    false,
    { field: 'source.connection', value: name, variable },
  );
}

/** Opens a client; the caller ends it. */
export async function connect(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  // A backend terminated between queries makes the client emit 'error'; unheard, that would kill
  // the worker process. The query in flight (if any) still fails with the error, and is retried.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    // A failed connect leaves a socket behind on some errors; end it, keep the original error.
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}
