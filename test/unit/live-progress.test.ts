/**
 * The bookkeeping behind the `progress` query's moving rows (workflows/live-progress.ts): a
 * partition's live numbers count only while it runs, are replaced (never added to) by later
 * reports and by its result, and a retry's report replaces the earlier attempt's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LivePartitions } from '../../workflows/live-progress.js';

const report = (partition: number, attempt: number, rows: number) => ({
  partition,
  attempt,
  rows,
  bytes: rows * 10,
});

test('a report counts only for a partition running in this run', () => {
  const live = new LivePartitions();
  assert.equal(
    live.record(report(3, 1, 100)),
    false,
    'not started (or a carried partition of the previous run)',
  );
  live.started(3);
  assert.deepEqual(live.addTo({ rows: 0, bytes: 0 }), {
    rows: 0,
    bytes: 0,
    runningPartitions: [{ partition: 3, rows: 0, bytes: 0 }],
  });
  assert.equal(live.record(report(3, 1, 100)), true);
  assert.deepEqual(live.addTo({ rows: 1000, bytes: 5 }), {
    rows: 1100,
    bytes: 1005,
    runningPartitions: [{ partition: 3, rows: 100, bytes: 1000 }],
  });
});

test('later reports replace earlier ones; a report that overtook a newer one is ignored', () => {
  const live = new LivePartitions();
  live.started(0);
  live.record(report(0, 1, 100));
  live.record(report(0, 1, 250));
  assert.equal(live.record(report(0, 1, 200)), false);
  assert.deepEqual(live.list(), [{ partition: 0, rows: 250, bytes: 2500 }]);
});

test('a retry replaces the earlier attempt, even with fewer rows; a late report of the earlier attempt does not', () => {
  const live = new LivePartitions();
  live.started(0);
  live.record(report(0, 1, 500));
  // Attempt 2 resumed the stored batches (its rows include them) or started over (fewer rows).
  assert.equal(live.record(report(0, 2, 300)), true);
  assert.equal(live.record(report(0, 1, 600)), false, 'the zombie first attempt');
  assert.deepEqual(live.list(), [{ partition: 0, rows: 300, bytes: 3000 }]);
});

test('the result replaces the live numbers, and a report arriving after it is ignored', () => {
  const live = new LivePartitions();
  const finished = { rows: 0, bytes: 0 };
  live.started(0);
  live.started(1);
  live.record(report(0, 1, 400));
  live.record(report(1, 1, 70));
  assert.equal(live.addTo(finished).rows, 470);
  // What the workflow does when partition 0's activity returns: result in, live numbers out.
  finished.rows += 500;
  live.ended(0);
  assert.equal(live.addTo(finished).rows, 570);
  assert.equal(live.record(report(0, 1, 500)), false, 'the last report, delivered after the result');
  assert.equal(live.addTo(finished).rows, 570);
  assert.deepEqual(
    live.list().map((p) => p.partition),
    [1],
  );
});

test('malformed reports are ignored', () => {
  const live = new LivePartitions();
  live.started(0);
  for (const bad of [
    null,
    'x',
    { partition: 0 },
    { partition: 0, attempt: 1, rows: -1, bytes: 0 },
    { partition: 0, attempt: 1, rows: Number.NaN, bytes: 0 },
    { partition: 0, attempt: 1.5, rows: 1, bytes: 0 },
    { partition: 0, attempt: 1, rows: 1, bytes: Number.POSITIVE_INFINITY },
  ]) {
    assert.equal(live.record(bad as never), false, JSON.stringify(bad));
  }
  assert.deepEqual(live.list(), [{ partition: 0, rows: 0, bytes: 0 }]);
});

test('running partitions are listed in partition order', () => {
  const live = new LivePartitions();
  for (const p of [7, 2, 5]) live.started(p);
  assert.deepEqual(
    live.list().map((p) => p.partition),
    [2, 5, 7],
  );
});
