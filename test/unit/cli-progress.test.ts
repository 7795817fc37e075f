/** The CLI's progress arithmetic: rates, ETA (never NaN or Infinity), durations, and the input schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateEta, estimatedRowsOf, formatDuration, RateMeter } from '../../src/cli/progress-view.js';
import { liveProgressOf, type PendingWork } from '../../src/cli/run-info.js';
import { exportInputJsonSchema } from '../../src/contract/export-input.js';
import type { ExportProgress } from '../../workflows/export-table.js';

const base = {
  phase: 'extracting' as const,
  rows: 0,
  finishedRows: 0,
  partitionsDone: 0,
  partitionsTotal: 8,
  estimatedRows: null,
  rowsPerSecond: null,
};

test('ETA is unknown (null) until a rate and a size are known, never NaN or Infinity', () => {
  assert.equal(estimateEta(base), null);
  assert.equal(estimateEta({ ...base, rowsPerSecond: 0 }), null);
  assert.equal(estimateEta({ ...base, rowsPerSecond: Number.NaN }), null);
  // A rate but no finished partition and no estimate: the total is unknown.
  assert.equal(estimateEta({ ...base, rows: 500, rowsPerSecond: 100 }), null);
  assert.equal(estimateEta({ ...base, partitionsTotal: 0, partitionsDone: 0, rowsPerSecond: 100 }), null);
  for (const phase of ['planning', 'compacting', 'finalizing', 'done'] as const) {
    assert.equal(estimateEta({ ...base, phase, rows: 100, rowsPerSecond: 10, estimatedRows: 1000 }), null);
  }
});

test('ETA from partitions: the finished partitions’ mean rows times the partitions left', () => {
  // 2 of 8 done with 1,000 rows each; 500 more rows in flight; 100 rows/s → (8000 − 2500) / 100.
  const eta = estimateEta({ ...base, rows: 2500, finishedRows: 2000, partitionsDone: 2, rowsPerSecond: 100 });
  assert.equal(eta, 55);
  // Every partition done: nothing left.
  assert.equal(
    estimateEta({ ...base, rows: 8000, finishedRows: 8000, partitionsDone: 8, rowsPerSecond: 100 }),
    0,
  );
});

test('ETA from a row estimate; rows beyond the estimate give 0, not a negative time', () => {
  assert.equal(estimateEta({ ...base, rows: 400, estimatedRows: 1000, rowsPerSecond: 200 }), 3);
  assert.equal(estimateEta({ ...base, rows: 1400, estimatedRows: 1000, rowsPerSecond: 200 }), 0);
});

/** A `progress` answer of a run extracting its one partition; fields as given. */
function answer(fields: Partial<ExportProgress> = {}): ExportProgress {
  return {
    phase: 'extracting',
    table: 'public.t',
    runKey: 'k',
    partitions: { total: 1, done: 0, running: 1, skipped: 0 },
    rows: 0,
    bytes: 0,
    runningPartitions: [],
    estimatedRows: null,
    ...fields,
    consistency: null,
  };
}

test('a row estimate is read from the progress answer only when it is a positive number', () => {
  const p = answer();
  assert.equal(estimatedRowsOf(p), null);
  assert.equal(estimatedRowsOf({ ...p, estimatedRows: 1234 }), 1234);
  assert.equal(estimatedRowsOf({ ...p, estimatedRows: 0 }), null);
  assert.equal(estimatedRowsOf({ ...p, estimatedRows: Number.NaN }), null);
  // An answer from a run of an earlier version has no estimate at all.
  const { estimatedRows: _absent, ...older } = p;
  assert.equal(estimatedRowsOf(older as ExportProgress), null);
});

/** A pending extraction whose last heartbeat Temporal received says `rows`. */
function beat(partition: number | null, rows: number): PendingWork {
  return {
    activity: 'extractPartition',
    state: 'started',
    attempt: 1,
    partition,
    rows,
    bytes: rows * 10,
    lastCursor: null,
    lastHeartbeat: null,
    lastFailure: null,
  };
}

test('live rows: per running partition the fresher of its report and its heartbeat, finished ones once', () => {
  const p = answer({
    partitions: { total: 4, done: 1, running: 2, skipped: 0 },
    // Partition 0 finished with 1,000 rows; 1 and 2 report 300 and 0 (no report yet).
    rows: 1300,
    bytes: 13_000,
    runningPartitions: [
      { partition: 1, rows: 300, bytes: 3000 },
      { partition: 2, rows: 0, bytes: 0 },
    ],
    estimatedRows: 4000,
  });
  const live = liveProgressOf(p, [
    beat(0, 1000), // finished in the answer, still pending in the description: not added again
    beat(1, 200), // older than its report
    beat(2, 50), // its heartbeat arrived before its first report
    beat(null, 0), // started, no heartbeat yet
  ]);
  assert.deepEqual(live.finished, { rows: 1000, bytes: 10_000 });
  assert.deepEqual(live.inflight, { rows: 350, bytes: 3500 });
  assert.equal(live.estimatedRows, 4000);
});

test('live rows of a run of an earlier version: finished rows in the answer, heartbeats for the rest', () => {
  const { runningPartitions: _absent, ...older } = answer({
    partitions: { total: 2, done: 1, running: 1, skipped: 0 },
    rows: 1000,
    bytes: 10_000,
  });
  const live = liveProgressOf(older as ExportProgress, [beat(1, 400)]);
  assert.deepEqual(live.finished, { rows: 1000, bytes: 10_000 });
  assert.deepEqual(live.inflight, { rows: 400, bytes: 4000 });
});

test('the rate meter needs a second of progress and forgets samples older than its window', () => {
  const m = new RateMeter(10_000);
  assert.equal(m.rate(), null);
  m.add(0, 0, 0);
  m.add(500, 100, 1000);
  assert.equal(m.rate(), null); // less than a second
  m.add(2000, 200, 2000);
  assert.deepEqual(m.rate(), { rows: 100, bytes: 1000 });
  m.add(3000, 200, 2000);
  m.add(4000, 200, 2000);
  assert.deepEqual(m.rate(), { rows: 50, bytes: 500 }); // stalled: the rate falls
  m.add(30_000, 200, 2000);
  assert.equal(m.rate(), null); // no progress within the window
});

test('durations are short, and unknown ones a dash', () => {
  assert.equal(formatDuration(null), '–');
  assert.equal(formatDuration(Number.POSITIVE_INFINITY), '–');
  assert.equal(formatDuration(Number.NaN), '–');
  assert.equal(formatDuration(-1), '–');
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(192), '3m12s');
  assert.equal(formatDuration(7500), '2h05m');
});

test('the input JSON Schema requires only source.table and destination, and states the defaults', () => {
  const s = exportInputJsonSchema() as {
    $schema: string;
    required: string[];
    properties: Record<string, { required?: string[]; properties?: Record<string, { default?: unknown }> }>;
  };
  assert.match(s.$schema, /json-schema\.org/);
  assert.deepEqual(s.required, ['source', 'destination']);
  assert.deepEqual(s.properties.source?.required, ['table']);
  assert.equal(s.properties.partitions?.properties?.maxConcurrent?.default, 4);
  assert.equal(s.properties.partitions?.required, undefined);
  // The type options are listed with their accepted values (the UI form's choices).
  const transform = s.properties.transform?.properties as Record<
    string,
    { default?: unknown; enum?: unknown }
  >;
  assert.deepEqual([transform.uuidAs?.default, transform.uuidAs?.enum], ['string', ['string', 'uuid']]);
  assert.deepEqual([transform.jsonAs?.default, transform.jsonAs?.enum], ['string', ['string', 'json']]);
});
