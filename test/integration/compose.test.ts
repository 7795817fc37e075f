/** docker-compose.yml describes the same stack as scripts/stack.sh: same ports, variables, credentials. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseExports, stackScript } from '../../src/cli/local-stack.js';

interface Service {
  ports?: string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
};
// The script's defaults: ignore any override in the environment of the test run.
const settings = parseExports(
  execFileSync('bash', [stackScript(), 'env'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  }),
);

const hostPorts = (s: Service | undefined): string[] =>
  (s?.ports ?? []).map((p) => p.split(':').at(-2) ?? '');

test('the services publish the ports the scripts use', () => {
  const dsn = new URL(settings.DATABASE_URL!);
  assert.deepEqual(hostPorts(compose.services.postgres), [dsn.port]);
  assert.deepEqual(hostPorts(compose.services.temporal), [
    settings.TEMPORAL_ADDRESS!.split(':')[1],
    new URL(settings.TEMPORAL_UI_URL!).port,
  ]);
  assert.ok(hostPorts(compose.services.minio).includes(new URL(settings.AWS_ENDPOINT_URL_S3!).port));
});

test('the worker gets the same variables, and the credentials match', () => {
  const env = compose.services.worker?.environment ?? {};
  for (const name of Object.keys(settings).filter(
    (n) => n !== 'TEMPORAL_CLI_PATH' && n !== 'TEMPORAL_UI_URL',
  )) {
    assert.ok(name in env, `worker environment lacks ${name}`);
  }
  const dsn = new URL(settings.DATABASE_URL!);
  const pg = compose.services.postgres?.environment ?? {};
  assert.equal(pg.POSTGRES_USER, dsn.username);
  assert.equal(pg.POSTGRES_PASSWORD, dsn.password);
  assert.equal(pg.POSTGRES_DB, dsn.pathname.slice(1));
  const minio = compose.services.minio?.environment ?? {};
  assert.equal(minio.MINIO_ROOT_USER, settings.AWS_ACCESS_KEY_ID);
  assert.equal(minio.MINIO_ROOT_PASSWORD, settings.AWS_SECRET_ACCESS_KEY);
  assert.equal(env.PG_PARQUET_DEMO_BUCKET, settings.PG_PARQUET_DEMO_BUCKET);
});

test('docker-compose config validates the file (when docker-compose is installed)', (t) => {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('docker-compose is not installed (apt-get install docker-compose)');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
