/**
 * Resolves a connection *name* (the only thing that travels in workflow input) to settings the
 * worker reads from its own environment, so no secret ever enters workflow history.
 *
 * What a libpq user expects, on top of node-postgres: a connection service (`service=` in the URL,
 * or `PGSERVICE`) is read from `pg_service.conf` (`PGSERVICEFILE` or `~/.pg_service.conf`, then
 * `PGSYSCONFDIR/pg_service.conf`), and `sslmode` (URL, service or `PGSSLMODE`) has libpq's meaning.
 * Whatever cannot be honoured is refused with {@link ErrorType.ConnectionNotConfigured}, never ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import pg from 'pg';
import { parse as parseConnectionString, toClientConfig } from 'pg-connection-string';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { ReadBufferSocket } from './read-buffer-socket.js';

/** `application_name` of every session we open: visible in pg_stat_activity. */
const APPLICATION_NAME = 'pg-parquet';

/** libpq's `sslmode` values. */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
type SslMode = (typeof SSL_MODES)[number];

/** Keywords a service entry may hold (libpq's names). */
const SERVICE_KEYS = new Set([
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'application_name',
  'options',
  'connect_timeout',
]);

/** Configs resolved with `sslmode=prefer`: tried with TLS, then without if the server has none. */
const preferSsl = new WeakSet<pg.ClientConfig>();

/** Reads a file's text, or undefined when it does not exist (injectable for tests). */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

/** The environment variable that holds the URL of connection `name` (other than `default`). */
function connectionEnvVar(name: string): string {
  return `PG_PARQUET_CONNECTION_${name.toUpperCase()}`;
}

/**
 * `default` → `DATABASE_URL`, or else the standard `PG*` variables (PGHOST, PGUSER, PGSERVICE, …);
 * any other name `x` → `PG_PARQUET_CONNECTION_X`. A URL's own settings win over its service's,
 * which win over the `PG*` variables (libpq's order).
 */
export function resolveConnection(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  read: ReadText = readText,
): pg.ClientConfig {
  const variable = name === 'default' ? 'DATABASE_URL' : connectionEnvVar(name);
  const url = env[variable];
  if (!url && !(name === 'default' && (env.PGHOST || env.PGDATABASE || env.PGUSER || env.PGSERVICE))) {
    throw notConfigured(name, name === 'default' ? 'DATABASE_URL (or the PG* variables)' : variable);
  }
  const fail = (problem: string, details: Record<string, unknown> = {}) =>
    new PgParquetError(
      ErrorType.ConnectionNotConfigured,
      `connection "${name}" (${url ? variable : 'PG* variables'}) cannot be used: ${problem}`,
      false,
      { field: 'source.connection', value: name, variable: url ? variable : 'PG*', ...details },
    );

  // libpq keywords node-postgres does not implement (or implements differently) are taken out
  // of the URL and applied here.
  const own = new Map<string, string>();
  let config: pg.ClientConfig = {};
  if (url) {
    if (!/^(postgres|postgresql|socket):\/\//i.test(url) && !url.startsWith('/')) {
      throw fail('not a postgresql:// URL (keyword=value connection strings are not supported)');
    }
    const q = url.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    for (const key of ['service', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat']) {
      const value = query.get(key);
      if (value !== null) own.set(key, value);
      query.delete(key);
    }
    const rest = query.toString();
    try {
      config = toClientConfig(
        parseConnectionString(`${q < 0 ? url : url.slice(0, q)}${rest ? `?${rest}` : ''}`),
      );
    } catch (err) {
      throw fail(`the URL does not parse (${(err as Error).name})`);
    }
  }

  const service = own.get('service') ?? env.PGSERVICE;
  if (service) {
    const entry = findService(service, env, read);
    if (!entry) {
      throw fail(`service "${service}" is not defined in ${serviceFiles(env).join(' or ')}`, {
        service,
        files: serviceFiles(env),
      });
    }
    for (const [key, value] of Object.entries(entry.settings)) {
      if (!SERVICE_KEYS.has(key)) {
        throw fail(`service "${service}" in ${entry.file} sets "${key}", which is not supported here`, {
          service,
          keyword: key,
          supported: [...SERVICE_KEYS],
        });
      }
      if (key.startsWith('ssl')) {
        if (!own.has(key)) own.set(key, value);
        continue;
      }
      config = withServiceSetting(config, key, value, () =>
        fail(`service "${service}": ${key}=${value} is invalid`),
      );
    }
  }

  const mode = own.get('sslmode') ?? env.PGSSLMODE;
  if (mode !== undefined) {
    if (!(SSL_MODES as readonly string[]).includes(mode)) {
      throw fail(`sslmode=${mode} is not one of ${SSL_MODES.join(', ')}`, {
        sslmode: mode,
        accepted: SSL_MODES,
      });
    }
    const file = (key: string, fallback?: string) => {
      const path = own.get(key) ?? env[`PG${key.toUpperCase()}`] ?? fallback;
      if (path === undefined) return undefined;
      const text = read(path);
      if (text === undefined && own.has(key)) throw fail(`${key} ${path} does not exist`, { [key]: path });
      return text;
    };
    const rootCert = file('sslrootcert', join(homedir(), '.postgresql', 'root.crt'));
    const ssl = sslOptions(mode as SslMode, rootCert, file('sslcert'), file('sslkey'));
    if (ssl === 'needs-root-cert') {
      throw fail(
        'sslmode=verify-ca needs a root certificate (sslrootcert, PGSSLROOTCERT or ~/.postgresql/root.crt)',
      );
    }
    config = { ...config, ssl };
  }
  const resolved: pg.ClientConfig = { application_name: APPLICATION_NAME, ...config };
  if (mode === 'prefer' && !isSocket(resolved.host ?? env.PGHOST)) preferSsl.add(resolved);
  return resolved;
}

/** libpq's sslmode as node-postgres TLS settings (`prefer` also retries without TLS in {@link connect}). */
function sslOptions(
  mode: SslMode,
  ca: string | undefined,
  cert: string | undefined,
  key: string | undefined,
): false | TlsOptions | 'needs-root-cert' {
  const files: TlsOptions = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  switch (mode) {
    case 'disable':
    case 'allow': // libpq tries without TLS first; node-postgres cannot fall back to TLS after that
      return false;
    case 'prefer':
      return { ...files, rejectUnauthorized: false };
    case 'require':
      // libpq: with a root certificate, require checks the chain (as verify-ca); without, nothing.
      return ca
        ? { ...files, checkServerIdentity: () => undefined }
        : { ...files, rejectUnauthorized: false };
    case 'verify-ca':
      return ca ? { ...files, checkServerIdentity: () => undefined } : 'needs-root-cert';
    case 'verify-full':
      return files;
  }
}

function isSocket(host: string | undefined): boolean {
  return host?.startsWith('/') === true;
}

/** One service keyword onto a config the URL may already have filled (the URL wins). */
function withServiceSetting(
  config: pg.ClientConfig,
  key: string,
  value: string,
  invalid: () => PgParquetError,
): pg.ClientConfig {
  const set = <K extends keyof pg.ClientConfig>(field: K, v: pg.ClientConfig[K]) =>
    config[field] === undefined || config[field] === null || config[field] === ''
      ? { ...config, [field]: v }
      : config;
  const number = () => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw invalid();
    return n;
  };
  switch (key) {
    case 'host':
    case 'hostaddr':
      return set('host', value);
    case 'port':
      return set('port', number());
    case 'dbname':
      return set('database', value);
    case 'user':
      return set('user', value);
    case 'password':
      return set('password', value);
    case 'application_name':
      return set('application_name', value);
    case 'options':
      return set('options', value);
    case 'connect_timeout':
      return set('connectionTimeoutMillis', number() * 1000);
    default:
      return config;
  }
}

/** The service files libpq reads, in its order: the user's, then the system's. */
function serviceFiles(env: NodeJS.ProcessEnv): string[] {
  const user = env.PGSERVICEFILE ?? join(homedir(), '.pg_service.conf');
  // libpq's compiled-in sysconfdir on Debian and Ubuntu, when PGSYSCONFDIR is not set.
  const system = join(env.PGSYSCONFDIR ?? '/etc/postgresql-common', 'pg_service.conf');
  return [user, system];
}

/** The first file that defines `service` (libpq does not merge the user's and the system's). */
function findService(
  service: string,
  env: NodeJS.ProcessEnv,
  read: ReadText,
): { file: string; settings: Record<string, string> } | undefined {
  for (const file of serviceFiles(env)) {
    const text = read(file);
    const settings = text === undefined ? undefined : parseServiceFile(text).get(service);
    if (settings) return { file, settings };
  }
  return undefined;
}

/** `pg_service.conf`: `[name]` sections of `keyword=value` lines; `#` starts a comment line. */
export function parseServiceFile(text: string): Map<string, Record<string, string>> {
  const services = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = {};
      services.set(section[1]!.trim(), current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current && eq > 0) current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return services;
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
  try {
    return await open(config);
  } catch (err) {
    // sslmode=prefer: a server without TLS answers the SSL request with "N"; libpq then goes on
    // without TLS, so do we (on a new connection).
    if (preferSsl.has(config) && (err as Error).message === 'The server does not support SSL connections') {
      return open({ ...config, ssl: false });
    }
    throw err;
  }
}

async function open(config: pg.ClientConfig): Promise<pg.Client> {
  // A plain connection reads into one buffer of its own (read-buffer-socket.ts); TLS reads
  // through the socket node-postgres makes for it.
  const client = new pg.Client(config.ssl ? config : { ...config, stream: () => new ReadBufferSocket() });
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
