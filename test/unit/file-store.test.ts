/** FileObjectStore in a temp folder, and destination URL parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DestinationError, parseDestination } from '../../src/contract/destination-url.js';
import { openObjectStore } from '../../src/storage/destination.js';
import { FileObjectStore } from '../../src/storage/file-store.js';
import { S3ObjectStore } from '../../src/storage/s3-store.js';

const enc = new TextEncoder();
const md5 = (b: Uint8Array | string): string => createHash('md5').update(b).digest('hex');

async function withStore(fn: (store: FileObjectStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pgpq-file-store-'));
  try {
    await fn(new FileObjectStore(path.join(dir, 'dest')), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every file below `dir`, relative, with '/' separators. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

test('put, get, head, list and delete', () =>
  withStore(async (store, dir) => {
    assert.equal(await store.get('t/run=1/a.parquet'), undefined);
    assert.equal(await store.head('t/run=1/a.parquet'), undefined);
    assert.deepEqual(await store.list(''), []);

    const info = await store.put('t/run=1/_raw/part=00001/batch=000002.parquet', enc.encode('hello'));
    assert.equal(info.key, 't/run=1/_raw/part=00001/batch=000002.parquet');
    assert.equal(info.size, 5);
    assert.equal(info.etag, md5('hello'));
    await store.put('t/run=1/_raw/part=00001/batch=000001.parquet', enc.encode('one'));
    await store.put('t/run=1/_manifest.json', enc.encode('{}'), 'application/json');
    await store.put('t/run=10/_SUCCESS', new Uint8Array(0));
    await store.put('u/x', enc.encode('u'));

    assert.deepEqual(await store.get('t/run=1/_raw/part=00001/batch=000002.parquet'), enc.encode('hello'));
    const head = await store.head('t/run=1/_raw/part=00001/batch=000002.parquet');
    assert.deepEqual({ ...head, lastModified: undefined }, { ...info, lastModified: undefined });
    assert.ok(head!.lastModified instanceof Date);
    // A folder is not an object.
    assert.equal(await store.head('t/run=1'), undefined);
    assert.equal(await store.get('t/run=1'), undefined);

    // Replacing keeps one object with the new content.
    const replaced = await store.put('u/x', enc.encode('second'));
    assert.equal(replaced.etag, md5('second'));
    assert.deepEqual(await store.get('u/x'), enc.encode('second'));

    assert.deepEqual(
      (await store.list('t/run=1/')).map((o) => o.key),
      [
        't/run=1/_manifest.json',
        't/run=1/_raw/part=00001/batch=000001.parquet',
        't/run=1/_raw/part=00001/batch=000002.parquet',
      ],
    );
    // A prefix is a string prefix, not a folder: `t/run=1` also matches `t/run=10/...`.
    assert.deepEqual(
      (await store.list('t/run=1')).map((o) => o.key),
      [
        't/run=1/_manifest.json',
        't/run=1/_raw/part=00001/batch=000001.parquet',
        't/run=1/_raw/part=00001/batch=000002.parquet',
        't/run=10/_SUCCESS',
      ],
    );
    const all = await store.list('');
    assert.equal(all.length, 5);
    assert.deepEqual(
      all.find((o) => o.key === 't/run=1/_raw/part=00001/batch=000001.parquet')?.etag,
      md5('one'),
    );
    assert.deepEqual(await store.list('nothing/here/'), []);

    // An etag computed by another process (no cache) is the same MD5.
    const fresh = new FileObjectStore(store.root);
    assert.equal((await fresh.head('u/x'))?.etag, md5('second'));
    assert.equal((await fresh.list('u/'))[0]?.etag, md5('second'));

    await store.delete([
      't/run=1/_raw/part=00001/batch=000001.parquet',
      't/run=1/_raw/part=00001/batch=000002.parquet',
      'missing/key',
    ]);
    assert.deepEqual(
      (await store.list('t/')).map((o) => o.key),
      ['t/run=1/_manifest.json', 't/run=10/_SUCCESS'],
    );
    // Folders emptied by the delete are gone too; the root stays.
    assert.deepEqual(await readdir(path.join(store.root, 't', 'run=1')), ['_manifest.json']);
    await store.delete((await store.list('')).map((o) => o.key));
    assert.deepEqual(await readdir(store.root), []);
    assert.deepEqual(await filesUnder(dir), []);
  }));

test('putStream writes chunks and reports size and MD5', () =>
  withStore(async (store) => {
    const chunks = [enc.encode('abc'), new Uint8Array(0), enc.encode('def'.repeat(100_000))];
    async function* body(): AsyncGenerator<Uint8Array> {
      for (const c of chunks) {
        await new Promise((r) => setImmediate(r));
        yield c;
      }
    }
    const info = await store.putStream('big/file.parquet', body());
    const whole = Buffer.concat(chunks);
    assert.equal(info.size, whole.byteLength);
    assert.equal(info.etag, md5(whole));
    assert.deepEqual(await store.get('big/file.parquet'), new Uint8Array(whole));
  }));

test('putStream whose producer throws leaves no object and no temp file', () =>
  withStore(async (store, dir) => {
    await store.put('keep/old.parquet', enc.encode('old'));
    const boom = new Error('producer failed');
    async function* failing(): AsyncGenerator<Uint8Array> {
      await new Promise((resolve) => setImmediate(resolve));
      yield enc.encode('partial data');
      yield enc.encode('more');
      throw boom;
    }
    await assert.rejects(store.putStream('new/file.parquet', failing()), (err) => err === boom);
    // Replacing an existing object fails the same way and keeps the old content.
    await assert.rejects(store.putStream('keep/old.parquet', failing()), (err) => err === boom);
    assert.equal(await store.head('new/file.parquet'), undefined);
    assert.deepEqual(await store.get('keep/old.parquet'), enc.encode('old'));
    assert.deepEqual(await filesUnder(dir), ['dest/keep/old.parquet']);
  }));

test('temp files are not listed; keys cannot escape the root', () =>
  withStore(async (store) => {
    await store.put('a/b', enc.encode('b'));
    // A temp file left by a crashed writer.
    await writeFile(path.join(store.root, 'a', '.pgpq-tmp-0123456789ab-c'), 'partial');
    assert.deepEqual(
      (await store.list('')).map((o) => o.key),
      ['a/b'],
    );
    for (const bad of ['', '/abs', '../x', 'a/../../x', 'a//b', 'a/./b', 'a/', 'nul\0byte']) {
      await assert.rejects(store.put(bad, enc.encode('x')), RangeError, `key ${JSON.stringify(bad)}`);
    }
    await assert.rejects(store.list('../'), RangeError);
    assert.equal(store.urlOf('a/b c%.parquet'), `${store.url}/a/b%20c%25.parquet`);
    assert.match(store.url, /^file:\/\/\//);
  }));

test('a file being written is a dot file that no *.parquet glob matches; listFolders lists subfolders', () =>
  withStore(async (store) => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const writing = store.putStream(
      't/run=1/part-00000.parquet',
      (async function* () {
        yield enc.encode('PAR1');
        await held;
        yield enc.encode('PAR1');
      })(),
    );
    const dir = path.join(store.root, 't', 'run=1');
    let names: string[] = [];
    for (let i = 0; i < 100 && names.length === 0; i++) {
      names = await readdir(dir).catch(() => []);
      if (names.length === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(names.length, 1);
    assert.match(names[0]!, /^\.pgpq-tmp-[0-9a-f]+-part-00000\.parquet\.tmp$/);
    release();
    await writing;
    assert.deepEqual(await readdir(dir), ['part-00000.parquet']);
    await store.put('t/run=1/_raw/part=00000/batch=000000.parquet', enc.encode('x'));
    await store.put('t/run=2/_SUCCESS', enc.encode(''));
    await store.put('t/_latest.json', enc.encode('{}'));
    assert.deepEqual(await store.listFolders('t/'), ['t/run=1/', 't/run=2/']);
    assert.deepEqual(await store.listFolders(''), ['t/']);
    assert.deepEqual(await store.listFolders('none/'), []);
  }));

test('parseDestination accepts s3:// and file:/// URLs', () => {
  assert.deepEqual(parseDestination('s3://my-bucket'), { scheme: 's3', bucket: 'my-bucket', prefix: '' });
  assert.deepEqual(parseDestination('s3://my-bucket/'), { scheme: 's3', bucket: 'my-bucket', prefix: '' });
  assert.deepEqual(parseDestination('s3://my.bucket-1/exports/pg/'), {
    scheme: 's3',
    bucket: 'my.bucket-1',
    prefix: 'exports/pg',
  });
  assert.deepEqual(parseDestination('file:///data/exports/'), {
    scheme: 'file',
    prefix: '',
    path: '/data/exports',
  });
  assert.deepEqual(parseDestination('file://localhost/data/x'), {
    scheme: 'file',
    prefix: '',
    path: '/data/x',
  });
  assert.deepEqual(parseDestination('file:///tmp/a%20b'), { scheme: 'file', prefix: '', path: '/tmp/a b' });
  // Only the kernel folders themselves are refused, not names that start alike.
  assert.deepEqual(parseDestination('file:///processed//out'), {
    scheme: 'file',
    prefix: '',
    path: '/processed/out',
  });
  assert.deepEqual(parseDestination('file:///data/proc'), { scheme: 'file', prefix: '', path: '/data/proc' });

  const s3 = openObjectStore('s3://pg-parquet-demo/demo/');
  assert.ok(s3 instanceof S3ObjectStore);
  assert.equal(s3.url, 's3://pg-parquet-demo/demo');
  assert.equal(s3.urlOf('t/run=1/_SUCCESS'), 's3://pg-parquet-demo/demo/t/run=1/_SUCCESS');
  const file = openObjectStore('file:///tmp/pgpq-dest');
  assert.ok(file instanceof FileObjectStore);
  assert.equal(file.url, 'file:///tmp/pgpq-dest');
});

test('parseDestination refuses everything else with a DestinationError', () => {
  const bad = [
    '',
    'relative/path',
    '/abs/path',
    'file:relative',
    'file://relative/path',
    'file:///a/../b',
    'file:///a?x=1',
    's3://',
    's3:///prefix',
    's3://Upper-Case',
    's3://ab',
    's3://' + 'a'.repeat(64),
    's3://bucket_underscore',
    's3://-dash-start',
    's3://two..dots',
    's3://192.168.1.1',
    's3://xn--bucket',
    's3://bucket-s3alias',
    's3://bucket/a//b',
    's3://bucket/../x',
    's3://bucket/x?versionId=1',
    'gs://bucket/x',
    'https://bucket.s3.amazonaws.com/x',
    ' s3://bucket',
    'file:///',
    'file:////',
    'file://localhost/',
    'file:///proc',
    'file:///proc/self/fd',
    'file:////proc/x',
    'file:///sys/kernel',
    'file:///dev',
    'file:///dev/shm/out',
    'file:///%70roc/x',
  ];
  for (const url of bad) {
    assert.throws(
      () => parseDestination(url),
      (err: unknown) => {
        assert.ok(err instanceof DestinationError, `${url}: ${String(err)}`);
        assert.equal(err.type, 'PgParquetInvalidDestination');
        assert.equal(err.retryable, false);
        assert.match(err.message, /destination/);
        assert.ok(err.message.includes(JSON.stringify(url)), err.message);
        assert.match(err.message, /s3:\/\/bucket\[\/prefix\] or file:\/\/\/absolute\/path/);
        return true;
      },
      url,
    );
  }
  assert.throws(() => openObjectStore('gs://x/y'), DestinationError);
});

test('putIfAbsent creates once: a second or concurrent write of the key leaves the first one, no temp file', () =>
  withStore(async (store, dir) => {
    const first = await store.putIfAbsent('a/doc.json', enc.encode('first'));
    assert.equal(first?.etag, md5('first'));
    assert.equal(await store.putIfAbsent('a/doc.json', enc.encode('second')), undefined);
    assert.equal(new TextDecoder().decode(await store.get('a/doc.json')), 'first');
    const racing = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.putIfAbsent('a/race.json', enc.encode(`writer ${i}`))),
    );
    const winners = racing.filter((r) => r !== undefined);
    assert.equal(winners.length, 1, 'exactly one writer creates the key');
    const stored = new TextDecoder().decode(await store.get('a/race.json'));
    assert.equal(md5(stored), winners[0]!.etag, 'the stored bytes are the winner’s');
    assert.deepEqual(await filesUnder(path.join(dir, 'dest')), ['a/doc.json', 'a/race.json']);
  }));
