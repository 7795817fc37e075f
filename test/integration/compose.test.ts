/**
 * docker-compose.yml and scripts/stack.sh describe one stack: the same published ports, the same
 * variable names and the same credentials. Needs neither Docker nor a running stack: `stack.sh env`
 * only prints settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { nodeLaunchOf } from '../../bench/paths.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const STACK_SCRIPT = fileURLToPath(new URL('../../scripts/stack.sh', import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  ports?: string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as { services?: Record<string, Service> };
const services = compose.services ?? {};

function service(name: string): Service {
  const s = services[name];
  assert.ok(s, `docker-compose.yml has no service ${name}`);
  return s;
}

/** The script's defaults: run without any PG_PARQUET_* / AWS_* override of the test's environment. */
const envOutput = execFileSync('bash', [STACK_SCRIPT, 'env'], {
  encoding: 'utf8',
  // stdin not a socket: bash would take itself for an rsh/ssh session and source ~/.bashrc.
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
});

const EXPORT_LINE = /^export ([A-Z_][A-Z0-9_]*)='([^']*)'$/;
const settings: Record<string, string> = {};
for (const line of envOutput.split('\n').filter((l) => l !== '')) {
  const m = EXPORT_LINE.exec(line);
  if (m) settings[m[1]!] = m[2]!;
}

function setting(name: string): string {
  const value = settings[name];
  assert.ok(value !== undefined, `stack.sh env printed no ${name}`);
  return value;
}

/** `[ip:]host:container` → { host, container }. */
function published(s: Service): { ip: string | undefined; host: string; container: string }[] {
  return (s.ports ?? []).map((p) => {
    const parts = String(p).split(':');
    return {
      ip: parts.length > 2 ? parts[0] : undefined,
      host: parts.at(-2) ?? '',
      container: parts.at(-1) ?? '',
    };
  });
}

const hostPorts = (name: string): string[] => published(service(name)).map((p) => p.host);

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : v.split(/\s+/);
}

test('stack.sh env prints only eval-able export lines, with the documented defaults', () => {
  for (const line of envOutput.split('\n').filter((l) => l !== '')) {
    assert.match(line, EXPORT_LINE);
  }
  assert.equal(
    setting('DATABASE_URL'),
    'postgres://pgparquet:pgparquet-local-secret@127.0.0.1:55432/pgparquet',
  );
  assert.equal(setting('TEMPORAL_ADDRESS'), '127.0.0.1:7233');
  assert.equal(setting('TEMPORAL_NAMESPACE'), 'default');
  assert.equal(setting('TEMPORAL_UI_URL'), 'http://127.0.0.1:8233');
  assert.equal(setting('AWS_ENDPOINT_URL_S3'), 'http://127.0.0.1:9000');
  assert.equal(setting('AWS_ACCESS_KEY_ID'), 'pgparquet');
  assert.equal(setting('AWS_SECRET_ACCESS_KEY'), 'pgparquet-local-secret-key');
  assert.equal(setting('AWS_REGION'), 'us-east-1');
  assert.equal(setting('PG_PARQUET_DEMO_BUCKET'), 'pg-parquet-demo');
  assert.equal(setting('PG_PARQUET_S3_FORCE_PATH_STYLE'), 'true');
});

test('stack.sh env honours overrides and quotes values for the shell', () => {
  const out = execFileSync('bash', [STACK_SCRIPT, 'env'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      PG_PARQUET_PG_PORT: '55999',
      PG_PARQUET_PG_PASSWORD: "it's a p@ss",
      PG_PARQUET_MINIO_PASSWORD: "o'brien",
    },
  });
  const script = `${out}\nprintf '%s\\n' "$DATABASE_URL" "$AWS_SECRET_ACCESS_KEY"`;
  const [dsn, secret] = execFileSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: {},
    stdio: ['ignore', 'pipe', 'pipe'],
  }).split('\n');
  assert.equal(dsn, 'postgres://pgparquet:it%27s%20a%20p%40ss@127.0.0.1:55999/pgparquet');
  assert.equal(decodeURIComponent(new URL(dsn ?? '').password), "it's a p@ss");
  assert.equal(secret, "o'brien");
});

test('the compose services publish the ports of the scripts, on loopback', () => {
  const dsn = new URL(setting('DATABASE_URL'));
  assert.deepEqual(hostPorts('postgres'), [dsn.port]);
  assert.deepEqual(hostPorts('postgres'), ['55432']);
  assert.deepEqual(
    published(service('postgres')).map((p) => p.container),
    ['5432'],
  );
  const temporalPort = setting('TEMPORAL_ADDRESS').split(':')[1];
  const uiPort = new URL(setting('TEMPORAL_UI_URL')).port;
  assert.deepEqual(hostPorts('temporal'), [temporalPort, uiPort]);
  assert.deepEqual(hostPorts('temporal'), ['7233', '8233']);
  const s3Port = new URL(setting('AWS_ENDPOINT_URL_S3')).port;
  assert.deepEqual(hostPorts('minio'), [s3Port, '9001']);
  assert.deepEqual(hostPorts('minio'), ['9000', '9001']);
  for (const name of ['postgres', 'temporal', 'minio']) {
    for (const p of published(service(name)))
      assert.equal(p.ip, '127.0.0.1', `${name} publishes ${p.host} beyond loopback`);
  }
});

test('temporal runs the CLI dev server, reachable from the other containers', () => {
  const temporal = service('temporal');
  assert.match(temporal.image ?? '', /^temporalio\/temporal(:|$)/);
  const args = asList(temporal.command);
  assert.deepEqual(args.slice(0, 2), ['server', 'start-dev']);
  assert.equal(args[args.indexOf('--ip') + 1], '0.0.0.0');
  assert.equal(args[args.indexOf('--ui-port') + 1], '8233');
});

test('postgres and minio use the credentials of the scripts', () => {
  const dsn = new URL(setting('DATABASE_URL'));
  const pg = service('postgres').environment ?? {};
  assert.equal(pg.POSTGRES_USER, decodeURIComponent(dsn.username));
  assert.equal(pg.POSTGRES_PASSWORD, decodeURIComponent(dsn.password));
  assert.equal(pg.POSTGRES_DB, dsn.pathname.slice(1));
  const minio = service('minio').environment ?? {};
  assert.equal(minio.MINIO_ROOT_USER, setting('AWS_ACCESS_KEY_ID'));
  assert.equal(minio.MINIO_ROOT_PASSWORD, setting('AWS_SECRET_ACCESS_KEY'));
  assert.deepEqual(asList(service('minio').command).slice(0, 2), ['server', '/data']);
});

test('createbucket creates the demo bucket with the same credentials', () => {
  const cb = service('createbucket');
  const text = [...asList(cb.entrypoint), ...asList(cb.command), ...Object.values(cb.environment ?? {})].join(
    ' ',
  );
  assert.match(text, new RegExp(`\\b${setting('PG_PARQUET_DEMO_BUCKET')}\\b`));
  assert.ok(text.includes(setting('AWS_ACCESS_KEY_ID')), 'createbucket does not use the access key');
  assert.ok(text.includes(setting('AWS_SECRET_ACCESS_KEY')), 'createbucket does not use the secret key');
});

test('the worker gets every variable of `stack.sh env`, pointing at the compose services', () => {
  const worker = service('worker');
  assert.ok(worker.build !== undefined, 'the worker is built from the project');
  const env = worker.environment ?? {};
  const hostOnly = new Set(['TEMPORAL_CLI_PATH', 'TEMPORAL_UI_URL']);
  for (const name of Object.keys(settings).filter((n) => !hostOnly.has(n))) {
    assert.ok(name in env, `worker environment lacks ${name}`);
  }
  const dsn = new URL(setting('DATABASE_URL'));
  const workerDsn = new URL(env.DATABASE_URL ?? '');
  assert.equal(workerDsn.hostname, 'postgres');
  assert.equal(workerDsn.port, '5432');
  assert.equal(workerDsn.username, dsn.username);
  assert.equal(workerDsn.password, dsn.password);
  assert.equal(workerDsn.pathname, dsn.pathname);
  assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(env.AWS_ENDPOINT_URL_S3, 'http://minio:9000');
  for (const name of [
    'TEMPORAL_NAMESPACE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
    'PG_PARQUET_DEMO_BUCKET',
    'PG_PARQUET_S3_FORCE_PATH_STYLE',
  ]) {
    assert.equal(env[name], setting(name), name);
  }
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  assert.match(dockerfile, /^FROM node:22-bookworm-slim$/m);
  // The worker runs with the variables and Node flags of the bin's #! line (two malloc arenas, a fixed
  // mmap threshold, V8's old-generation floor: README, Operations), which `node file` does not read.
  const launch = nodeLaunchOf(fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)));
  assert.ok(launch.flags.length > 0, "the bin's #! line passes Node flags");
  assert.equal(launch.env.MALLOC_ARENA_MAX, '2');
  for (const [name, value] of Object.entries(launch.env)) {
    assert.match(dockerfile, new RegExp(`^ENV ${name}=${value}$`, 'm'));
  }
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.deepEqual(JSON.parse(cmd ?? 'null'), ['node', ...launch.flags, 'dist/bin/pg-parquet.js', 'worker']);
});

test('docker-compose config accepts the file (when docker-compose is installed)', (t) => {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('docker-compose is not on PATH (Debian: apt-get install docker-compose)');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `docker-compose config -q failed:\n${r.stderr}`);
});
