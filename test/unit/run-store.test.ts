/** RunStore over a real folder: the compaction plan in chunks, read one chunk at a time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileObjectStore } from '../../src/storage/file-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { RunStore } from '../../src/run/run-store.js';
import type { CompactionGroup } from '../../src/plan/compaction.js';
import type { Manifest } from '../../src/run/manifest.js';

const table = { schema: 'public', name: 'events' };
const RUN = 'public.events/run=r1';

async function withRun(fn: (run: RunStore, store: ObjectStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pgpq-run-store-'));
  try {
    const store = new FileObjectStore(dir);
    await fn(RunStore.open(store, table, 'r1'), store, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function groups(n: number): CompactionGroup[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    rows: index + 1,
    bytes: 10,
    inputs: [
      {
        key: `${RUN}/_raw/part=${index}/batch=0.parquet`,
        partition: index,
        rows: index + 1,
        bytes: 10,
        cursorMin: null,
        cursorMax: null,
      },
    ],
  }));
}

/** Counts the store's reads, to prove a group lookup does not download the whole plan. */
function countingGets(store: ObjectStore): { keys: string[] } {
  const seen = { keys: [] as string[] };
  const get = store.get.bind(store);
  store.get = (key: string) => {
    seen.keys.push(key);
    return get(key);
  };
  return seen;
}

test('a compaction plan of 2,500 groups is stored in chunks of 1,000; one group reads one chunk', async () => {
  await withRun(async (run, store, dir) => {
    assert.equal(await run.compactionPlan(), undefined);
    const summary = await run.storeCompactionPlan(1 << 20, groups(2500));
    assert.deepEqual(
      { groups: summary.groups, rows: summary.rows },
      { groups: 2500, rows: (2500 * 2501) / 2 },
    );
    // The chunks sit in one folder named by the digest of the whole group list.
    assert.match(summary.groupsId ?? '', /^[0-9a-f]{32}$/);
    const folders = await readdir(path.join(dir, RUN, '_compaction'));
    assert.deepEqual(folders, [summary.groupsId]);
    const chunkFiles = (await readdir(path.join(dir, RUN, '_compaction', folders[0]!))).sort();
    assert.deepEqual(chunkFiles, ['groups-00000.json', 'groups-00001.json', 'groups-00002.json']);

    const seen = countingGets(store);
    const g = await run.compactionGroup(1700);
    assert.equal(g?.index, 1700);
    assert.equal(g?.rows, 1701);
    assert.deepEqual(seen.keys, [
      `${RUN}/_compaction.json`,
      `${RUN}/_compaction/${summary.groupsId}/groups-00001.json`,
    ]);
    assert.equal(await run.compactionGroup(2500), undefined);

    const all = await run.compactionGroups();
    assert.deepEqual(
      all.map((x) => x.index),
      Array.from({ length: 2500 }, (_, i) => i),
    );
    assert.deepEqual(await run.compactionPlan(), summary);
  });
});

test('a version-1 compaction plan (groups inline) is still read, so older runs resume', async () => {
  await withRun(async (run, store) => {
    const v1 = { targetFileBytes: 100, groups: groups(3) };
    await store.put(`${RUN}/_compaction.json`, new TextEncoder().encode(JSON.stringify(v1)));
    assert.deepEqual(await run.compactionPlan(), { version: 1, targetFileBytes: 100, groups: 3, rows: 6 });
    assert.equal((await run.compactionGroup(2))?.rows, 3);
    assert.equal((await run.compactionGroups()).length, 3);
  });
});

test('a missing group chunk is lost state: a terminal VerificationFailed, not a partial plan', async () => {
  await withRun(async (run, store) => {
    const { groupsId } = await run.storeCompactionPlan(1 << 20, groups(1500));
    await store.delete([`${RUN}/_compaction/${groupsId}/groups-00001.json`]);
    await assert.rejects(run.compactionGroups(), (err: unknown) => {
      const e = err as { type?: string; retryable?: boolean };
      assert.equal(e.type, 'PgParquetVerificationFailed');
      assert.equal(e.retryable, false);
      return true;
    });
  });
});

for (const compacted of [true, false]) {
  test(`a finished partition is one whose marker exists; finishing removes batches beyond the last (compacted: ${compacted})`, async () => {
    await withRun(async (run, store) => {
      const plan = { compacted };
      const partition = { index: 0, lo: null, hi: null, includesNulls: true };
      for (const b of [0, 1, 2]) await run.storeBatch(plan, 0, b, new Uint8Array([b]));
      assert.equal(await run.finishedPartition(0), undefined);
      const key = compacted
        ? `${RUN}/_raw/part=00000/batch=000000.parquet`
        : `${RUN}/part-00000-000000.parquet`;
      await run.finishPartition(plan, {
        partition,
        sourceRows: 1,
        rows: 1,
        bytes: 1,
        files: [{ key, rows: 1, bytes: 1, cursorMin: '1', cursorMax: '1' }],
      });
      assert.equal((await run.finishedPartition(0))?.rows, 1);
      const left = (await store.list(`${RUN}/`)).map((o) => o.key);
      assert.deepEqual(left, [`${RUN}/_partitions/part=00000.json`, key].sort());
    });
  });
}

/** A minimal manifest of a run whose data files are `files` (keys below the run folder). */
function manifestOf(runKey: string, files: readonly string[]): Manifest {
  return {
    version: 1,
    table: 'public.events',
    runKey,
    extractedAt: '2026-11-01T00:00:00.000Z',
    destination: 'file:///x',
    cursor: 'id',
    where: null,
    compression: 'zstd',
    consistency: { mode: 'partition' },
    layout: 'compacted',
    columns: [],
    partitions: [],
    files: files.map((key) => ({ key, rows: 1, bytes: 1, rowGroups: 1, cursorMin: null, cursorMax: null })),
    totals: { rows: files.length, bytes: files.length, files: files.length, partitions: 1 },
    createdAt: '2026-11-01T00:00:00.000Z',
  };
}

/** Stores a run as a finished export leaves it (or, with `success: false`, one still running). */
async function storeRun(store: ObjectStore, runKey: string, success = true): Promise<RunStore> {
  const run = RunStore.open(store, table, runKey);
  const prefix = `public.events/run=${runKey}/`;
  const data = [`${prefix}part-00000.parquet`, `${prefix}part-00001.parquet`];
  for (const k of [...data, `${prefix}_plan.json`, `${prefix}_partitions/part=00000.json`]) {
    await store.put(k, new Uint8Array([1]));
  }
  await store.put(`${prefix}_raw/part=00000/batch=000000.parquet`, new Uint8Array([1]));
  if (success) {
    const manifest = manifestOf(runKey, data);
    await run.commitManifest(manifest);
    await run.publishLatest(manifest);
  }
  return run;
}

test('_latest.json names the successful run with the greatest runKey; a backfill does not move it back', async () => {
  await withRun(async (_run, store) => {
    await storeRun(store, '20261102');
    assert.equal((await RunStore.open(store, table, 'x').latest())?.runKey, '20261102');
    const older = await storeRun(store, '20261101');
    const latest = await older.latest();
    assert.equal(latest?.runKey, '20261102');
    assert.equal(latest?.manifestKey, 'public.events/run=20261102/_manifest.json');
    assert.equal(latest?.runPrefix, 'public.events/run=20261102/');
    assert.equal(latest?.totals.files, 2);
    await storeRun(store, '20261103');
    assert.equal((await older.latest())?.runKey, '20261103');
  });
});

test('retention keeps the newest N successful runs and every run without _SUCCESS', async () => {
  await withRun(async (_run, store, dir) => {
    for (const k of ['20261101', '20261102', '20261103']) await storeRun(store, k);
    await storeRun(store, '20261104', false); // still running: never touched
    await store.put('public.events/run=20261101/notes.txt', new Uint8Array([1])); // not ours
    const current = await storeRun(store, '20261105');
    assert.deepEqual(await current.deleteOlderRuns(2), ['20261101', '20261102', '20261103'].slice(0, 2));
    const left = (await store.list('public.events/')).map((o) => o.key);
    assert.ok(left.includes('public.events/run=20261103/_SUCCESS'));
    assert.ok(left.includes('public.events/run=20261104/_plan.json'));
    assert.ok(left.includes('public.events/run=20261105/_SUCCESS'));
    assert.deepEqual(
      left.filter((k) => /run=2026110[12]\//.test(k)),
      ['public.events/run=20261101/notes.txt'],
      'only what the manifest lists and the _ documents are deleted',
    );
    assert.deepEqual(await readdir(path.join(dir, 'public.events')), [
      '_latest.json',
      'run=20261101',
      'run=20261103',
      'run=20261104',
      'run=20261105',
    ]);
    assert.deepEqual(await current.deleteOlderRuns(2), [], 'idempotent');
  });
});

test('retention never deletes the run that applies it, and finishes a deletion begun before', async () => {
  await withRun(async (_run, store) => {
    await storeRun(store, '20261109');
    const backfill = await storeRun(store, '20261101');
    assert.deepEqual(await backfill.deleteOlderRuns(1), [], 'the newest run stays, and so does this one');
    // A deletion that stopped after removing _SUCCESS is finished by the next retention.
    await storeRun(store, '20261105');
    await store.put('public.events/run=20261105/_DELETING', new Uint8Array(0));
    await store.delete(['public.events/run=20261105/_SUCCESS']);
    assert.deepEqual(await backfill.deleteOlderRuns(10), ['20261105']);
    assert.deepEqual(await store.list('public.events/run=20261105/'), []);
  });
});

test('a runKey planned under the layout before version 3 fails typed instead of mixing layouts', async () => {
  await withRun(async (run, store) => {
    await store.put(`${RUN}/_plan.json`, new TextEncoder().encode(JSON.stringify({ version: 2 })));
    await assert.rejects(run.plan(), (err: unknown) => {
      const e = err as { type?: string; retryable?: boolean; details?: Record<string, unknown> };
      assert.equal(e.type, 'PgParquetPlanMismatch');
      assert.equal(e.retryable, false);
      assert.equal(e.details?.version, 2);
      return true;
    });
  });
});
