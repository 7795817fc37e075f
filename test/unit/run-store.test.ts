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
        key: `${RUN}/raw/part=${index}/batch=0.parquet`,
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
    const chunkFiles = (await readdir(path.join(dir, RUN, '_compaction'))).sort();
    assert.deepEqual(chunkFiles, ['groups-00000.json', 'groups-00001.json', 'groups-00002.json']);

    const seen = countingGets(store);
    const g = await run.compactionGroup(1700);
    assert.equal(g?.index, 1700);
    assert.equal(g?.rows, 1701);
    assert.deepEqual(seen.keys, [`${RUN}/_compaction.json`, `${RUN}/_compaction/groups-00001.json`]);
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
    await run.storeCompactionPlan(1 << 20, groups(1500));
    await store.delete([`${RUN}/_compaction/groups-00001.json`]);
    await assert.rejects(run.compactionGroups(), (err: unknown) => {
      const e = err as { type?: string; retryable?: boolean };
      assert.equal(e.type, 'PgParquetVerificationFailed');
      assert.equal(e.retryable, false);
      return true;
    });
  });
});

test('a finished partition is one whose marker exists; finishing removes batches beyond the last', async () => {
  await withRun(async (run, store) => {
    const partition = { index: 0, lo: null, hi: null, includesNulls: true };
    for (const b of [0, 1, 2]) await run.storeBatch(0, b, new Uint8Array([b]));
    assert.equal(await run.finishedPartition(0), undefined);
    const key = `${RUN}/raw/part=00000/batch=000000.parquet`;
    await run.finishPartition({
      partition,
      sourceRows: 1,
      rows: 1,
      bytes: 1,
      files: [{ key, rows: 1, bytes: 1, cursorMin: '1', cursorMax: '1' }],
    });
    assert.equal((await run.finishedPartition(0))?.rows, 1);
    const left = (await store.list(`${RUN}/raw/part=00000/`)).map((o) => o.key);
    assert.deepEqual(left, [`${RUN}/raw/part=00000/_partition.json`, key]);
  });
});
