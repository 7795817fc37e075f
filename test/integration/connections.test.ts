/**
 * Connection settings as libpq and AWS users write them, against the real services: a
 * pg_service.conf service, sslmode=prefer against a server without TLS, an unknown service
 * failing an export typed and at once, and an S3 endpoint from the SDK's shared config file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import { connect, resolveConnection } from '../../src/postgres/connection.js';
import { S3ObjectStore } from '../../src/storage/s3-store.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { bucket, database, stack, uniquePrefix } from '../support/fixtures.js';

let dir: string;
let db: pg.Client;
let harness: TemporalHarness;
/** The worker's environment without DATABASE_URL, with a service file describing the local database. */
let env: NodeJS.ProcessEnv;

before(async () => {
  stack();
  db = await database();
  dir = mkdtempSync(join(tmpdir(), 'pg-parquet-conn-'));
  const url = new URL(process.env.DATABASE_URL!);
  writeFileSync(
    join(dir, 'pg_service.conf'),
    `[local]\nhost=${url.hostname}\nport=${url.port}\ndbname=${url.pathname.slice(1)}\n` +
      `user=${decodeURIComponent(url.username)}\npassword=${decodeURIComponent(url.password)}\n`,
  );
  env = { PGSERVICEFILE: join(dir, 'pg_service.conf'), PGSYSCONFDIR: dir };
  harness = await startHarness({ resolveConnection: (name) => resolveConnection(name, env) });
});

after(async () => {
  await harness?.close();
  await db?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function currentDatabase(config: pg.ClientConfig): Promise<string> {
  const client = await connect(config);
  try {
    return (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  } finally {
    await client.end();
  }
}

test('PGSERVICE connects through pg_service.conf', async () => {
  const expected = (await db.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  assert.equal(await currentDatabase(resolveConnection('default', { ...env, PGSERVICE: 'local' })), expected);
  // service= in a URL, as psql accepts it.
  const named = resolveConnection('svc', {
    ...env,
    PG_PARQUET_CONNECTION_SVC: 'postgresql:///?service=local',
  });
  assert.equal(await currentDatabase(named), expected);
});

test('sslmode=prefer falls back to a plain connection when the server has no TLS', async (t) => {
  const ssl = (await db.query<{ ssl: string }>('SHOW ssl')).rows[0]!.ssl;
  if (ssl !== 'off') {
    t.skip('the local server has TLS on');
    return;
  }
  const prefer = resolveConnection('default', { ...env, PGSERVICE: 'local', PGSSLMODE: 'prefer' });
  assert.deepEqual(prefer.ssl, { rejectUnauthorized: false });
  assert.ok(await currentDatabase(prefer));
  // require does not fall back.
  const require = resolveConnection('default', { ...env, PGSERVICE: 'local', PGSSLMODE: 'require' });
  await assert.rejects(currentDatabase(require));
});

test('an export whose service is not defined fails typed, after one attempt', async () => {
  env.PGSERVICE = 'missing';
  try {
    const workflowId = `it-conn-${randomUUID()}`;
    const err = await harness.client.workflow
      .execute('exportTable', {
        taskQueue: harness.taskQueue,
        workflowId,
        args: [
          { source: { table: 'public.whatever' }, destination: `s3://${bucket()}/${uniquePrefix('conn')}` },
        ],
      })
      .then(
        () => assert.fail('the export should fail'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
    assert.equal(err.cause.type, ErrorType.ConnectionNotConfigured);
    assert.equal(err.cause.nonRetryable, true);
    const history = await harness.client.workflow.getHandle(workflowId).fetchHistory();
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    assert.equal(started.length, 1);
    assert.equal(started[0]!.activityTaskStartedEventAttributes!.attempt, 1);
  } finally {
    delete env.PGSERVICE;
  }
});

test('an endpoint_url in the shared AWS config file reaches MinIO path-style', async () => {
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_S3!);
  // A host name, not an IP address: the SDK addresses an IP path-style by itself.
  writeFileSync(
    join(dir, 'aws-config'),
    `[profile pgp]\nendpoint_url = http://localhost:${endpoint.port}\nregion = ${process.env.AWS_REGION ?? 'us-east-1'}\n` +
      `aws_access_key_id = ${process.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${process.env.AWS_SECRET_ACCESS_KEY}\n`,
  );
  const saved = { ...process.env };
  for (const name of [
    'AWS_ENDPOINT_URL_S3',
    'AWS_ENDPOINT_URL',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'PG_PARQUET_S3_FORCE_PATH_STYLE',
  ]) {
    delete process.env[name];
  }
  process.env.AWS_CONFIG_FILE = join(dir, 'aws-config');
  process.env.AWS_PROFILE = 'pgp';
  try {
    const store = new S3ObjectStore({ bucket: bucket(), prefix: uniquePrefix('aws-config') });
    await store.put('a/b.txt', new TextEncoder().encode('hello'));
    assert.deepEqual(
      (await store.list('a/')).map((o) => o.key),
      ['a/b.txt'],
    );
    assert.equal(new TextDecoder().decode(await store.get('a/b.txt')), 'hello');
    await store.delete(['a/b.txt']);
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
});
