/**
 * The run-store's create-only documents over a real folder: two plans of one runKey stored at once,
 * the coverage proof over the stored ranges, markers and manifests already written by another
 * run of the runKey (kept when they record the same, refused typed when not).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileObjectStore } from '../../src/storage/file-store.js';
import { RunStore } from '../../src/run/run-store.js';
import type { RunPlan } from '../../src/run/run-plan.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { PartitionStats } from '../../src/run/documents.js';
import type { RunSnapshot } from '../../src/contract/snapshot.js';
import { planUniformRanges } from '../../src/plan/partitions.js';

const table = { schema: 'public', name: 'events' };
const RUN = 'public.events/run=r1';

async function withStore(fn: (store: FileObjectStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pgpq-create-only-'));
  try {
    await fn(new FileObjectStore(dir), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const open = (store: FileObjectStore) => RunStore.open(store, table, 'r1');

function planOf(partitionCount: number, extractedAt: string): RunPlan {
  return {
    version: 5,
    table,
    runKey: 'r1',
    extractedAt,
    cursor: 'id',
    cursorPgType: 'bigint',
    cursorKind: 'integer',
    cursorUnique: true,
    where: null,
    columns: [],
    compacted: true,
    balance: 'minmax',
    partitionCount,
    sourceBytes: 0,
    warnings: [],
  };
}

const rangesOf = (count: number) =>
  planUniformRanges({ min: '1', max: '10000', totalBytes: 0, targetBytes: 1, count, maxPartitions: 100_000 });

/** Asserts that `promise` rejects with a PgParquetError of `type`, non-retryable. */
async function rejectsTyped(promise: Promise<unknown>, type: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const e = err as { type?: string; retryable?: boolean };
    assert.equal(e.type, type);
    assert.equal(e.retryable, false);
    return true;
  });
}

test('two plans of one runKey stored at once (4 vs 8 partitions): one wins, both see it, its ranges cover the table', () =>
  withStore(async (store, dir) => {
    for (let round = 0; round < 10; round++) {
      const runKey = `race-${round}`;
      const a = RunStore.open(store, table, runKey);
      const b = RunStore.open(store, table, runKey);
      const [ra, rb] = await Promise.all([
        a.storePlan({ ...planOf(4, 'A'), runKey }, rangesOf(4)),
        b.storePlan({ ...planOf(8, 'B'), runKey }, rangesOf(8)),
      ]);
      assert.equal(Number(ra.created) + Number(rb.created), 1, 'exactly one plan is created');
      assert.deepEqual(ra.plan, rb.plan, 'the loser returns the winner’s plan');
      const winner = ra.created ? ra.plan : rb.plan;
      assert.equal(winner.extractedAt, winner.partitionCount === 4 ? 'A' : 'B');
      const stored = await a.plan();
      assert.deepEqual(stored, winner);
      const ranges = await b.coveringRanges(stored);
      assert.equal(ranges.length, winner.partitionCount);
      assert.deepEqual(await a.ranges(0, 100), ranges);
      // The loser's ranges are deleted again: one chunk folder, the winner's.
      assert.deepEqual(await readdir(path.join(dir, `public.events/run=${runKey}/_plan`)), [winner.rangesId]);
    }
  }));

test('the coverage proof refuses ranges of another plan, a count recorded for another plan, and reads version-3 plans', () =>
  withStore(async (store) => {
    const run = open(store);
    const { plan } = await run.storePlan(planOf(4, 'A'), rangesOf(4));
    const chunk = `${RUN}/_plan/${plan.rangesId}/ranges-00000.json`;
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    // Another split of the domain, recorded for 4 partitions: covers, but is not the plan's list.
    const other = rangesOf(4).map((r, i) =>
      i === 1 ? { ...r, lo: '2000' } : i === 0 ? { ...r, hi: '2000' } : r,
    );
    await store.put(chunk, json({ partitionCount: 4, ranges: other }));
    await rejectsTyped(run.coveringRanges(plan), 'PgParquetVerificationFailed');
    // The count recorded with the ranges disagrees with the plan's.
    await store.put(chunk, json({ partitionCount: 8, ranges: rangesOf(4) }));
    await rejectsTyped(run.coveringRanges(plan), 'PgParquetVerificationFailed');
    // A gap between two ranges.
    await store.put(chunk, json({ partitionCount: 4, ranges: rangesOf(4).filter((r) => r.index !== 2) }));
    await rejectsTyped(run.coveringRanges(plan), 'PgParquetVerificationFailed');
    // A run planned by an earlier version: ranges directly under _plan/, no digest.
    const legacy = RunStore.open(store, table, 'old');
    const v3 = { ...planOf(3, 'X'), version: 3, runKey: 'old' };
    await store.put('public.events/run=old/_plan.json', json(v3));
    await store.put('public.events/run=old/_plan/ranges-00000.json', json(rangesOf(3)));
    const legacyPlan = await legacy.requirePlan();
    assert.deepEqual(await legacy.coveringRanges(legacyPlan), rangesOf(3));
    assert.deepEqual(await legacy.ranges(1, 1), [rangesOf(3)[1]]);
  }));

function markerOf(snapshot: string, rows = 10): PartitionStats {
  return {
    partition: rangesOf(2)[0]!,
    sourceRows: rows,
    rows,
    bytes: 100,
    files: [
      {
        key: `${RUN}/_raw/part=00000/batch=000000.parquet`,
        rows,
        bytes: 100,
        cursorMin: '1',
        cursorMax: '10',
      },
    ],
    readIn: {
      snapshot,
      lsn: '0/1',
      takenAt: '2026-01-01T00:00:00.000Z',
      standby: false,
      snapshotId: 'x',
      mixed: false,
    },
  };
}

test('a marker already stored by another run of the runKey: kept when it records the same output, else PlanMismatch', () =>
  withStore(async (store) => {
    const run = open(store);
    const placement = { compacted: true };
    await run.finishPartition(placement, markerOf('100:100:'));
    const key = `${RUN}/_partitions/part=00000.json`;
    const before = await store.head(key);
    // Same files and rows, read in another snapshot: the stored marker stays, byte for byte.
    await run.finishPartition(placement, markerOf('200:200:'));
    const after = await store.head(key);
    assert.equal(after?.etag, before?.etag);
    assert.equal(after?.lastModified.getTime(), before?.lastModified.getTime());
    // Other output for the same partition: refused, the stored marker stays.
    await rejectsTyped(run.finishPartition(placement, markerOf('200:200:', 11)), 'PgParquetPlanMismatch');
    // Another range under the same partition number: refused.
    const shifted = { ...markerOf('100:100:'), partition: { ...rangesOf(2)[0]!, hi: '7' } };
    await rejectsTyped(run.finishPartition(placement, shifted), 'PgParquetPlanMismatch');
    assert.equal((await store.head(key))?.etag, before?.etag);
    // consistency "snapshot": a marker of a lost snapshot is replaced by the run's re-read.
    const snapshot: RunSnapshot = {
      id: 'y',
      point: { snapshot: '300:300:', lsn: '0/2', takenAt: '2026-01-02T00:00:00.000Z', standby: false },
    };
    const reread = {
      ...markerOf('300:300:', 11),
      readIn: { ...snapshot.point, snapshotId: 'y', mixed: false },
    };
    await run.finishPartition(placement, reread, { replacing: snapshot });
    assert.equal((await run.finishedPartition(0))?.rows, 11);
  }));

function manifestOf(compression: 'zstd' | 'snappy'): Manifest {
  return {
    version: 2,
    table: 'public.events',
    runKey: 'r1',
    extractedAt: '2026-11-01T00:00:00.000Z',
    destination: 'file:///x',
    cursor: 'id',
    where: null,
    mode: 'full',
    watermark: null,
    compression,
    consistency: { mode: 'partition' },
    layout: 'compacted',
    columns: [],
    partitions: [],
    files: [],
    totals: { rows: 0, bytes: 0, files: 0, partitions: 1 },
    createdAt: '2026-11-01T00:00:00.000Z',
  } as unknown as Manifest;
}

test('the manifest and _SUCCESS are create-only: the same manifest again rewrites nothing, another one is PlanMismatch', () =>
  withStore(async (store) => {
    const run = open(store);
    await run.commitManifest(manifestOf('zstd'));
    const keys = [`${RUN}/_manifest.json`, `${RUN}/_SUCCESS`];
    const before = await Promise.all(keys.map((k) => store.head(k)));
    await run.commitManifest(manifestOf('zstd'));
    const after = await Promise.all(keys.map((k) => store.head(k)));
    assert.deepEqual(
      after.map((i) => [i?.etag, i?.lastModified.getTime()]),
      before.map((i) => [i?.etag, i?.lastModified.getTime()]),
      'nothing rewritten',
    );
    await rejectsTyped(run.commitManifest(manifestOf('snappy')), 'PgParquetPlanMismatch');
    // A run that lost the manifest to another one writes no _SUCCESS of its own.
    const other = RunStore.open(store, table, 'r2');
    await store.put(
      'public.events/run=r2/_manifest.json',
      new TextEncoder().encode('{"compression":"snappy"}\n'),
    );
    await rejectsTyped(
      other.commitManifest({ ...manifestOf('zstd'), runKey: 'r2' }),
      'PgParquetPlanMismatch',
    );
    assert.equal(await store.head('public.events/run=r2/_SUCCESS'), undefined);
  }));

test('a compaction plan stored first by another run decides; the loser’s group chunks are deleted', () =>
  withStore(async (store, dir) => {
    const run = open(store);
    const group = (rows: number) => ({
      index: 0,
      rows,
      bytes: 10,
      inputs: [
        {
          key: `${RUN}/_raw/part=00000/batch=000000.parquet`,
          partition: 0,
          rows,
          bytes: 10,
          cursorMin: null,
          cursorMax: null,
        },
      ],
    });
    const [x, y] = await Promise.all([
      run.storeCompactionPlan(100, [group(5)]),
      run.storeCompactionPlan(200, [group(5), { ...group(6), index: 1 }]),
    ]);
    assert.deepEqual(x, y, 'both return the stored compaction plan');
    assert.deepEqual(await readdir(path.join(dir, RUN, '_compaction')), [x.groupsId]);
    assert.equal((await run.compactionGroups()).length, x.groups);
  }));
