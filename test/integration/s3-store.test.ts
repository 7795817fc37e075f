/** S3ObjectStore against a real S3 server (the local stack's MinIO). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { ObjectStoreError } from '../../src/storage/object-store.js';
import { S3ObjectStore } from '../../src/storage/s3-store.js';
import { openObjectStore } from '../../src/storage/destination.js';
import { stack } from '../support/fixtures.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const MiB = 1024 * 1024;
const enc = new TextEncoder();

let bucket = '';
let prefix = '';
let store: S3ObjectStore;
/** A client independent of the code under test, for checks behind its back. */
let raw: S3Client;

before(async () => {
  stack();
  bucket = process.env.PG_PARQUET_DEMO_BUCKET ?? 'pg-parquet-demo';
  prefix = `tests/s3-store-${randomUUID().slice(0, 8)}`;
  raw = new S3Client({ forcePathStyle: true, region: process.env.AWS_REGION ?? 'us-east-1' });
  try {
    await raw.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  store = new S3ObjectStore({ bucket, prefix });
});

after(async () => {
  if (store) await store.delete((await store.list('')).map((o) => o.key));
  raw?.destroy();
});

/** `total` bytes in `chunk`-sized pieces of a repeating, position-dependent pattern. */
async function* pattern(
  total: number,
  chunk: number,
  failAfter?: { bytes: number; error: Error },
): AsyncGenerator<Uint8Array> {
  let sent = 0;
  while (sent < total) {
    await new Promise((resolve) => setImmediate(resolve)); // a producer that does I/O
    if (failAfter && sent >= failAfter.bytes) throw failAfter.error;
    const n = Math.min(chunk, total - sent);
    const buf = new Uint8Array(n);
    for (let i = 0; i < n; i += 4096) buf[i] = ((sent + i) / 4096) & 0xff;
    sent += n;
    yield buf;
  }
  if (failAfter) throw failAfter.error;
}

test('put, get, head, list, delete', async () => {
  assert.equal(await store.get('t/run=1/missing.parquet'), undefined);
  assert.equal(await store.head('t/run=1/missing.parquet'), undefined);

  const info = await store.put(
    't/run=1/_raw/part=00000/batch=000001.parquet',
    enc.encode('hello'),
    'application/vnd.apache.parquet',
  );
  assert.equal(info.key, 't/run=1/_raw/part=00000/batch=000001.parquet');
  assert.equal(info.size, 5);
  assert.equal(info.etag, createHash('md5').update('hello').digest('hex'));
  await store.put('t/run=1/_raw/part=00000/batch=000000.parquet', enc.encode('zero'));
  await store.put('t/run=1/_manifest.json', enc.encode('{}'), 'application/json');
  await store.put('t/run=10/_SUCCESS', new Uint8Array(0));

  assert.deepEqual(await store.get('t/run=1/_raw/part=00000/batch=000001.parquet'), enc.encode('hello'));
  assert.deepEqual(await store.get('t/run=10/_SUCCESS'), new Uint8Array(0));
  const head = await store.head('t/run=1/_raw/part=00000/batch=000001.parquet');
  assert.equal(head?.size, 5);
  assert.equal(head?.etag, info.etag);
  assert.ok(head?.lastModified instanceof Date);

  assert.deepEqual(
    (await store.list('t/run=1/')).map((o) => [o.key, o.size]),
    [
      ['t/run=1/_manifest.json', 2],
      ['t/run=1/_raw/part=00000/batch=000000.parquet', 4],
      ['t/run=1/_raw/part=00000/batch=000001.parquet', 5],
    ],
  );
  assert.equal((await store.list('')).length, 4);
  // The folders directly below a prefix, as retention lists a table's runs.
  assert.deepEqual(await store.listFolders('t/'), ['t/run=1/', 't/run=10/']);
  assert.deepEqual(await store.listFolders('t/run=1/'), ['t/run=1/_raw/']);
  assert.deepEqual(await store.listFolders(''), ['t/']);
  assert.deepEqual(await store.listFolders('none/'), []);
  assert.equal(store.urlOf('t/run=1/_manifest.json'), `s3://${bucket}/${prefix}/t/run=1/_manifest.json`);

  // The same destination through openObjectStore sees the same objects.
  const again = openObjectStore(`s3://${bucket}/${prefix}/`);
  assert.deepEqual(await again.get('t/run=1/_manifest.json'), enc.encode('{}'));

  await store.delete([
    't/run=1/_raw/part=00000/batch=000000.parquet',
    't/run=1/_raw/part=00000/batch=000001.parquet',
    'never/existed',
  ]);
  assert.deepEqual(
    (await store.list('t/')).map((o) => o.key),
    ['t/run=1/_manifest.json', 't/run=10/_SUCCESS'],
  );
});

test('putStream of ~40 MiB uploads several parts', async () => {
  const total = 40 * MiB + 12345;
  const hash = createHash('md5');
  for await (const c of pattern(total, MiB)) hash.update(c);
  const info = await store.putStream(
    'big/part-00000.parquet',
    pattern(total, MiB),
    'application/vnd.apache.parquet',
  );
  assert.equal(info.size, total);
  assert.match(info.etag, /-3$/, `a 3-part multipart ETag, got ${info.etag}`);
  const body = await store.get('big/part-00000.parquet');
  assert.ok(body);
  assert.equal(body.byteLength, total);
  assert.equal(createHash('md5').update(body).digest('hex'), hash.digest('hex'));
  // A small stream takes the single PutObject path.
  const small = await store.putStream('big/small.json', pattern(1000, 100));
  assert.equal(small.size, 1000);
});

test('compose assembles ranges of stored objects and given bytes, on S3 and on files alike', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pgpq-compose-'));
  try {
    for (const target of [store, openObjectStore(pathToFileURL(dir).href)]) {
      // Sources of 7, 1 and 12 MiB: copies of 5 MiB or more stay inside the server, the 1 MiB one
      // in the middle is read and sent with the head of the next.
      const sources = [7 * MiB + 3, MiB + 1, 12 * MiB + 5].map((n, i) => {
        const bytes = new Uint8Array(n);
        for (let j = 0; j < n; j++) bytes[j] = (j * 31 + i * 7) & 0xff;
        return { key: `compose/src-${i}`, bytes };
      });
      for (const src of sources) await target.put(src.key, src.bytes);
      const trailer = enc.encode('the footer');
      const ranges = [
        { key: sources[0]!.key, start: 0, end: 6 * MiB },
        { key: sources[1]!.key, start: 4, end: MiB + 1 },
        { key: sources[2]!.key, start: 4, end: 12 * MiB },
        { key: sources[0]!.key, start: 6 * MiB, end: 7 * MiB + 3 },
      ];
      const info = await target.compose('compose/out.parquet', [
        ...ranges.map((copy) => ({ copy })),
        { bytes: trailer },
      ]);
      const expected = Buffer.concat([
        ...ranges.map((r) => sources.find((s) => s.key === r.key)!.bytes.subarray(r.start, r.end)),
        trailer,
      ]);
      assert.equal(info.size, expected.length);
      const body = await target.get('compose/out.parquet');
      assert.ok(body);
      assert.equal(
        createHash('md5').update(body).digest('hex'),
        createHash('md5').update(expected).digest('hex'),
      );

      // A missing source fails the call and leaves nothing behind.
      await assert.rejects(
        target.compose('compose/missing.parquet', [
          { copy: { key: 'compose/nope', start: 0, end: 6 * MiB } },
          { bytes: trailer },
        ]),
        ObjectStoreError,
      );
      assert.equal(await target.head('compose/missing.parquet'), undefined);
    }
    const uploads = await raw.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/compose/` }),
    );
    assert.deepEqual(uploads.Uploads ?? [], []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('putStream whose producer fails leaves no object and no pending multipart upload', async () => {
  const key = 'fail/part-00001.parquet';
  const fullKey = `${prefix}/${key}`;
  const boom = new Error('COPY failed half way');
  // 40 MiB before the failure: two 16 MiB parts are uploaded, the third is being filled.
  await assert.rejects(
    store.putStream(key, pattern(64 * MiB, MiB, { bytes: 40 * MiB, error: boom })),
    (err) => err === boom,
  );
  assert.equal(await store.head(key), undefined);
  const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: fullKey }));
  assert.deepEqual(uploads.Uploads ?? [], []);
  const listed = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: fullKey }));
  assert.equal(listed.KeyCount ?? 0, 0);

  // A producer failing before the first part is complete never creates anything either.
  await assert.rejects(
    store.putStream('fail/tiny', pattern(10, 5, { bytes: 5, error: boom })),
    (err) => err === boom,
  );
  assert.equal(await store.head('fail/tiny'), undefined);
  // Nor does replacing an existing object: the old one stays.
  await store.put('fail/existing', enc.encode('old'));
  await assert.rejects(
    store.putStream('fail/existing', pattern(20 * MiB, MiB, { bytes: 18 * MiB, error: boom })),
    (err) => err === boom,
  );
  assert.deepEqual(await store.get('fail/existing'), enc.encode('old'));
  const after = await raw.send(
    new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/fail/` }),
  );
  assert.deepEqual(after.Uploads ?? [], []);
});

test('errors name the object and never carry credentials', async () => {
  const wrongSecret = `wrong-${randomUUID()}`;
  const bad = new S3ObjectStore({
    bucket,
    prefix,
    client: new S3Client({
      forcePathStyle: true,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'x', secretAccessKey: wrongSecret },
      maxAttempts: 1,
    }),
  });
  await assert.rejects(bad.put('t/x', enc.encode('x')), (err: unknown) => {
    assert.ok(err instanceof ObjectStoreError, String(err));
    assert.equal(err.retryable, false);
    assert.ok(err.message.includes(`s3://${bucket}/${prefix}/t/x`), err.message);
    assert.ok(!err.message.includes(wrongSecret), err.message);
    const secret = process.env.AWS_SECRET_ACCESS_KEY;
    if (secret) assert.ok(!err.message.includes(secret), err.message);
    assert.ok(!JSON.stringify(err).includes(wrongSecret));
    assert.equal(err.cause, undefined);
    return true;
  });

  const missing = new S3ObjectStore({ bucket: `no-such-bucket-${randomUUID().slice(0, 8)}`, prefix: 'x' });
  await assert.rejects(missing.put('k', enc.encode('x')), (err: unknown) => {
    assert.ok(err instanceof ObjectStoreError);
    assert.match(err.message, /NoSuchBucket/);
    assert.equal(err.retryable, false);
    return true;
  });
});

test('putIfAbsent is create-only (If-None-Match: *): MinIO answers 412, of 8 concurrent writers one wins', async () => {
  const key = `create-only-${randomUUID().slice(0, 8)}.json`;
  const first = await store.putIfAbsent(key, enc.encode('first'));
  assert.equal(first?.etag, createHash('md5').update('first').digest('hex'));
  assert.equal(await store.putIfAbsent(key, enc.encode('second')), undefined);
  assert.equal(new TextDecoder().decode(await store.get(key)), 'first');
  assert.equal((await store.head(key))?.etag, first.etag, 'the object was not rewritten');
  const raceKey = `create-race-${randomUUID().slice(0, 8)}.json`;
  const racing = await Promise.all(
    Array.from({ length: 8 }, (_, i) => store.putIfAbsent(raceKey, enc.encode(`writer ${i}`))),
  );
  const winners = racing.filter((r) => r !== undefined);
  assert.equal(winners.length, 1, 'exactly one writer creates the key');
  const stored = await store.get(raceKey);
  assert.equal(createHash('md5').update(stored!).digest('hex'), winners[0]!.etag);
});
