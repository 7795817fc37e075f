import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exportScheduleWorkflowId,
  exportWorkflowId,
  runKeyFromTime,
  runKeyFromWorkflowId,
} from '../../workflows/run-key.js';

test('our own ids name their runKey', () => {
  const id = exportWorkflowId('default', 'public.events', '20261122T101500Z');
  assert.equal(id, 'pg-parquet/default/public.events/20261122T101500Z');
  assert.equal(runKeyFromWorkflowId(id), '20261122T101500Z');
  assert.equal(runKeyFromWorkflowId('pg-parquet/wh/sales.orders/nightly-1'), 'nightly-1');
});

test("a scheduled run's id gives its scheduled time as runKey", () => {
  const base = exportScheduleWorkflowId('default', 'public.events');
  assert.equal(base, 'pg-parquet/default/public.events');
  // What the server starts: `<action workflowId>-<scheduled time, RFC 3339>`.
  assert.equal(runKeyFromWorkflowId(`${base}-2026-11-22T10:15:00Z`), '20261122T101500Z');
  // The same as the TemporalScheduledStartTime rule for that time.
  assert.equal(
    runKeyFromWorkflowId(`${base}-2026-11-22T10:15:00Z`),
    runKeyFromTime(new Date('2026-11-22T10:15:00.250Z')),
  );
  // Offsets are normalised to UTC, fractions dropped (runKeys are to the second).
  assert.equal(runKeyFromWorkflowId(`${base}-2026-11-22T11:15:00+01:00`), '20261122T101500Z');
  assert.equal(runKeyFromWorkflowId(`${base}-2026-11-22T10:15:00.999999Z`), '20261122T101500Z');
  // Any schedule's action id, ours or not, and a table name with dashes.
  assert.equal(runKeyFromWorkflowId('nightly-events-2025-01-01T00:00:00Z'), '20250101T000000Z');
  assert.equal(
    runKeyFromWorkflowId('pg-parquet/default/public.my-table-2025-01-01T00:00:00Z'),
    '20250101T000000Z',
  );
  // A runKey-shaped id of our own form wins over nothing else: this one has no time suffix.
  assert.equal(runKeyFromWorkflowId(`${base}/2026-11-22`), '2026-11-22');
});

test('ids that name no runKey', () => {
  // The schedule's base id itself (3 parts) is not `<table>/<runKey>`.
  assert.equal(runKeyFromWorkflowId('pg-parquet/default/public.events'), undefined);
  assert.equal(runKeyFromWorkflowId('my-export'), undefined);
  assert.equal(runKeyFromWorkflowId('pg-parquet/default/public.events/bad key'), undefined);
  // Not a valid time: left to the other rules.
  assert.equal(runKeyFromWorkflowId('x-2026-13-45T99:99:99Z'), undefined);
  assert.equal(runKeyFromWorkflowId('x-2026-11-22T10:15:00'), undefined);
});
