/** S3ObjectStore logic that needs no server: delete chunking, per-key errors, client settings, scrubbing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ObjectStoreError, type ComposePart } from '../../src/storage/object-store.js';
import { createS3Client, planComposeParts, S3ObjectStore, scrub } from '../../src/storage/s3-store.js';

/** A stand-in client that records commands and answers DeleteObjects with `reply`. */
function stubClient(reply: (keys: string[]) => object = () => ({})): { client: S3Client; calls: string[][] } {
  const calls: string[][] = [];
  const client = {
    send: (command: unknown) => {
      assert.ok(command instanceof DeleteObjectsCommand);
      const keys = (command.input.Delete?.Objects ?? []).map((o) => o.Key!);
      calls.push(keys);
      return Promise.resolve(reply(keys));
    },
  } as unknown as S3Client;
  return { client, calls };
}

test('delete sends DeleteObjects in chunks of 1000 under the prefix', async () => {
  const { client, calls } = stubClient();
  const store = new S3ObjectStore({ bucket: 'b', prefix: 'p/q/', client });
  const keys = Array.from({ length: 2501 }, (_, i) => `k/${i}`);
  await store.delete(keys);
  assert.deepEqual(
    calls.map((c) => c.length),
    [1000, 1000, 501],
  );
  assert.equal(calls[0]![0], 'p/q/k/0');
  assert.equal(calls[2]![500], 'p/q/k/2500');
  await store.delete([]);
  assert.equal(calls.length, 3);
});

test('delete throws when the response lists per-key errors', async () => {
  const { client } = stubClient((keys) => ({
    Errors: [{ Key: keys[1], Code: 'AccessDenied', Message: 'Access Denied' }],
  }));
  const store = new S3ObjectStore({ bucket: 'b', prefix: '', client });
  await assert.rejects(store.delete(['a', 'b', 'c']), (err: unknown) => {
    assert.ok(err instanceof ObjectStoreError);
    assert.equal(err.retryable, false);
    assert.equal(err.url, 's3://b/b');
    assert.match(err.message, /1 of 3 keys: b: AccessDenied Access Denied/);
    return true;
  });
});

test('path-style addressing follows the endpoint and PG_PARQUET_S3_FORCE_PATH_STYLE', async () => {
  const style = (env: NodeJS.ProcessEnv) => {
    const client = createS3Client({}, env);
    const value = client.config.forcePathStyle;
    client.destroy();
    return value;
  };
  assert.equal(style({}), false);
  assert.equal(style({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }), true);
  assert.equal(style({ PG_PARQUET_S3_FORCE_PATH_STYLE: 'true' }), true);
  assert.equal(style({ AWS_ENDPOINT_URL_S3: 'http://x', PG_PARQUET_S3_FORCE_PATH_STYLE: 'false' }), false);
  const client = createS3Client({}, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' });
  assert.equal(await client.config.region(), 'us-east-1');
  assert.equal(await client.config.maxAttempts(), 5);
  client.destroy();
});

/**
 * Where the client would send a HEAD of `bkt/k`, with the SDK reading `configFile` as its shared
 * config (and no endpoint variables): the request is captured once built, before signing.
 */
async function requestTarget(configFile: string): Promise<{ hostname: string; path: string }> {
  const saved = { ...process.env };
  for (const name of [
    'AWS_ENDPOINT_URL_S3',
    'AWS_ENDPOINT_URL',
    'AWS_PROFILE',
    'AWS_CONFIG_FILE',
    'AWS_SESSION_TOKEN',
  ]) {
    delete process.env[name];
  }
  const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-aws-'));
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  // Credentials in the profile: with AWS_PROFILE set, the SDK does not read them from the environment.
  const credentials = 'aws_access_key_id = unit\naws_secret_access_key = unit\n';
  writeFileSync(process.env.AWS_CONFIG_FILE, `[profile pgp]\n${credentials}${configFile}`);
  process.env.AWS_PROFILE = 'pgp';
  try {
    const client = createS3Client({}, { AWS_REGION: 'us-east-1' });
    let target: { hostname: string; path: string } | undefined;
    client.middlewareStack.add(
      () => (args) => {
        const request = args.request as { hostname: string; port?: number; path: string };
        target = {
          hostname: `${request.hostname}${request.port ? `:${request.port}` : ''}`,
          path: request.path,
        };
        return Promise.reject(new Error('captured'));
      },
      { step: 'build', name: 'capture' },
    );
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: 'bkt', Key: 'k' })), /captured/);
    client.destroy();
    assert.ok(target);
    return target;
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

test('an endpoint_url in the shared config file switches path-style addressing on', async () => {
  assert.deepEqual(await requestTarget('endpoint_url = http://minio.internal:9000\n'), {
    hostname: 'minio.internal:9000',
    path: '/bkt/k',
  });
  // The profile's services section, as the AWS CLI and SDKs read it.
  const services =
    'services = local\n[services local]\ns3 =\n  endpoint_url = http://s3.lake.internal:9001\n';
  assert.deepEqual(await requestTarget(services), { hostname: 's3.lake.internal:9001', path: '/bkt/k' });
  // No endpoint anywhere: AWS itself, virtual-hosted.
  assert.deepEqual(await requestTarget(''), {
    hostname: 'bkt.s3.us-east-1.amazonaws.com',
    path: '/k',
  });
});

test('scrub removes credential values and signed-URL fragments', () => {
  const env = { AWS_SECRET_ACCESS_KEY: 'sup3r-secret', AWS_ACCESS_KEY_ID: 'AKIDLOCAL' };
  const out = scrub(
    'failed sup3r-secret AKIDLOCAL https://h/b/k?X-Amz-Credential=AKIA1234567890ABCDEF%2F2024&X-Amz-Signature=abcdef Credential=AKIAXXXXXXXXXXXXXXXX/x, Signature=deadbeef',
    env,
  );
  for (const leaked of [
    'sup3r-secret',
    'AKIDLOCAL',
    'AKIA1234567890ABCDEF',
    'abcdef',
    'deadbeef',
    'AKIAXXXXXXXXXXXXXXXX',
  ]) {
    assert.ok(!out.includes(leaked), `${leaked} in ${out}`);
  }
});

test('planComposeParts: every part but the last is at least 5 MiB, big ranges are copied, order kept', () => {
  const MiB = 1024 * 1024;
  const copy = (key: string, start: number, end: number) => ({ copy: { key, start, end } });
  const cases: ComposePart[][] = [
    [copy('a', 0, 12 * MiB), copy('b', 4, 13 * MiB), { bytes: new Uint8Array(100) }],
    [copy('a', 0, 12 * MiB), copy('b', 4, MiB), copy('c', 4, 9 * MiB), { bytes: new Uint8Array(100) }],
    [copy('a', 0, 2 * MiB), copy('b', 4, 2 * MiB), copy('c', 4, 2 * MiB), copy('d', 4, 20 * MiB)],
    [copy('a', 0, 100), { bytes: new Uint8Array(10) }],
    [copy('a', 0, 3 * MiB), copy('b', 4, 6 * MiB)],
  ];
  for (const parts of cases) {
    const planned = planComposeParts(parts);
    const size = (p: (typeof planned)[number]) =>
      'copy' in p
        ? p.copy.end - p.copy.start
        : p.read.reduce((n, q) => n + ('bytes' in q ? q.bytes.length : q.copy.end - q.copy.start), 0);
    planned.slice(0, -1).forEach((p) => assert.ok(size(p) >= 5 * MiB, `part of ${size(p)} bytes`));
    for (const p of planned)
      if ('read' in p) assert.ok(size(p) < 12 * MiB, `a read part of ${size(p)} bytes`);
    // The pieces, flattened, are exactly the input byte sequence.
    const flat = planned.flatMap((p) => ('copy' in p ? [p] : p.read));
    const spans = (ps: readonly ComposePart[]) =>
      ps.flatMap((p) =>
        'bytes' in p ? [['bytes', p.bytes.length]] : [[p.copy.key, p.copy.start, p.copy.end]],
      );
    const merged: (string | number)[][] = [];
    for (const s of spans(flat)) {
      const last = merged.at(-1);
      if (last && last[0] === s[0] && s.length === 3 && last[2] === s[1]) last[2] = s[2]!;
      else merged.push([...s]);
    }
    assert.deepEqual(merged, spans(parts));
  }
  // The 12 MiB head is copied, not read.
  assert.ok('copy' in planComposeParts(cases[0]!)[0]!);
});
