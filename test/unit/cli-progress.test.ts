/** The CLI's progress arithmetic: rates, ETA (never NaN or Infinity), durations, and the input schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateEta, estimatedRowsOf, formatDuration, RateMeter } from '../../src/cli/progress-view.js';
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

test('a row estimate is read from the progress answer only when it is a positive number', () => {
  const p: ExportProgress = {
    phase: 'extracting',
    table: 'public.t',
    runKey: 'k',
    partitions: { total: 1, done: 0, running: 1, skipped: 0 },
    rows: 0,
    bytes: 0,
    estimatedRows: null,
    consistency: null,
  };
  assert.equal(estimatedRowsOf(p), null);
  assert.equal(estimatedRowsOf({ ...p, estimatedRows: 1234 }), 1234);
  assert.equal(estimatedRowsOf({ ...p, estimatedRows: 0 }), null);
  assert.equal(estimatedRowsOf({ ...p, estimatedRows: Number.NaN }), null);
  // An answer from a run of an earlier version has no estimate at all.
  const { estimatedRows: _absent, ...older } = p;
  assert.equal(estimatedRowsOf(older as ExportProgress), null);
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
});
