/** Which stored partitions count as read in a run's snapshot, and what the manifest may claim. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSnapshotId, type RunSnapshot } from '../../src/contract/snapshot.js';
import type { PartitionReadIn, PartitionStats } from '../../src/run/documents.js';
import { readInSnapshot, sharedSnapshot } from '../../src/run/run-store.js';

const point = (snapshot: string) => ({
  snapshot,
  lsn: '0/1',
  takenAt: '2026-12-01T00:00:00.000Z',
  standby: false,
});
const S1: RunSnapshot = { id: '00000003-0000001B-1', point: point('100:105:101,103') };
const S2: RunSnapshot = { id: '00000004-0000002C-1', point: point('120:120:') };

function stats(index: number, readIn: PartitionReadIn | undefined): PartitionStats {
  return {
    partition: { index, lo: null, hi: null, includesNulls: index === 0 },
    sourceRows: 1,
    rows: 1,
    bytes: 1,
    files: [],
    ...(readIn ? { readIn } : {}),
  };
}
const inRun = (s: RunSnapshot, mixed = false): PartitionReadIn => ({ ...s.point, snapshotId: s.id, mixed });
const own = (text: string): PartitionReadIn => ({ ...point(text), snapshotId: null, mixed: false });

test('a partition counts for a snapshot only when read wholly in one that sees the same transactions', () => {
  assert.equal(readInSnapshot(stats(0, inRun(S1)), S1), true);
  assert.equal(readInSnapshot(stats(0, inRun(S1)), S2), false);
  assert.equal(readInSnapshot(stats(0, inRun(S1, true)), S1), false, 'resumed across two snapshots');
  assert.equal(readInSnapshot(stats(0, own(S1.point.snapshot)), S1), false, 'its own snapshot, not exported');
  assert.equal(readInSnapshot(stats(0, undefined), S1), false, 'a marker of an earlier version');
  // Another export of the same moment (no transaction in between): the same rows.
  assert.equal(readInSnapshot(stats(0, inRun(S1)), { id: '00000009-00000001-1', point: S1.point }), true);
  assert.equal(readInSnapshot(stats(0, undefined), null), true, 'without a run snapshot, any marker counts');
});

test('the manifest claims one snapshot only when every partition was read wholly in it', () => {
  assert.equal(sharedSnapshot([stats(0, inRun(S1)), stats(1, inRun(S1))])?.snapshotId, S1.id);
  assert.equal(sharedSnapshot([stats(0, inRun(S1)), stats(1, inRun(S2))]), null);
  assert.equal(sharedSnapshot([stats(0, inRun(S1)), stats(1, inRun(S1, true))]), null);
  assert.equal(sharedSnapshot([stats(0, own(S1.point.snapshot)), stats(1, own(S1.point.snapshot))]), null);
  assert.equal(sharedSnapshot([stats(0, inRun(S1)), stats(1, undefined)]), null);
  assert.equal(sharedSnapshot([]), null);
});

test('snapshot ids have the form PostgreSQL gives them (they go into SET TRANSACTION SNAPSHOT)', () => {
  assert.equal(isSnapshotId('00000003-0000001B-1'), true);
  for (const bad of ["00000003-0000001B-1'; DROP TABLE x; --", '', '3-1B-1', '00000003-0000001B-']) {
    assert.equal(isSnapshotId(bad), false, bad);
  }
});
