/** S3ObjectStore logic that needs no server: delete chunking, per-key errors, client settings, scrubbing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { ObjectStoreError } from '../../src/storage/object-store.js';
import { createS3Client, S3ObjectStore, scrub } from '../../src/storage/s3-store.js';

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
