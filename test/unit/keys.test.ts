import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batchKey,
  dataFileKey,
  deletingKey,
  latestKey,
  manifestKey,
  parseBatchKey,
  partitionDoneKey,
  probeKey,
  runKeyOfFolder,
  runPrefix,
  successKey,
  tablePrefix,
} from '../../src/run/keys.js';
import { parseQualifiedName, sqlName } from '../../src/contract/table-name.js';
import { exportWorkflowId, runKeyFromWorkflowId } from '../../workflows/run-key.js';

const run = { table: { schema: 'public', name: 'events' }, runKey: '20261122T101500Z' };

test('keys follow the documented layout', () => {
  assert.equal(
    batchKey(run, true, 3, 12),
    'public.events/run=20261122T101500Z/_raw/part=00003/batch=000012.parquet',
  );
  assert.equal(batchKey(run, false, 3, 12), 'public.events/run=20261122T101500Z/part-00003-000012.parquet');
  assert.equal(dataFileKey(run, 7), 'public.events/run=20261122T101500Z/part-00007.parquet');
  assert.equal(manifestKey(run), 'public.events/run=20261122T101500Z/_manifest.json');
  assert.equal(successKey(run), 'public.events/run=20261122T101500Z/_SUCCESS');
  assert.equal(probeKey(run), 'public.events/run=20261122T101500Z/_probe');
  assert.equal(deletingKey(run), 'public.events/run=20261122T101500Z/_DELETING');
  assert.equal(partitionDoneKey(run, 0), 'public.events/run=20261122T101500Z/_partitions/part=00000.json');
  assert.equal(tablePrefix(run.table), 'public.events/');
  assert.equal(latestKey(run.table), 'public.events/_latest.json');
  assert.equal(runKeyOfFolder('public.events/run=20261122T101500Z/'), run.runKey);
  assert.equal(runKeyOfFolder('public.events/_plan/'), undefined);
});

test('in a run folder only data files lack a leading underscore', () => {
  const prefix = runPrefix(run);
  const keys = [
    batchKey(run, true, 0, 0),
    partitionDoneKey(run, 0),
    manifestKey(run),
    successKey(run),
    deletingKey(run),
  ];
  for (const k of keys) assert.ok(k.slice(prefix.length).startsWith('_'), k);
  for (const k of [dataFileKey(run, 0), batchKey(run, false, 0, 0)]) {
    assert.match(k.slice(prefix.length), /^part-[0-9-]+\.parquet$/);
  }
});

test('ordinary names keep their keys and workflow ids', () => {
  const events = parseQualifiedName('public.events');
  assert.equal(runPrefix({ table: events, runKey: 'k' }), 'public.events/run=k/');
  assert.equal(exportWorkflowId('default', events, 'k'), 'pg-parquet/default/public.events/k');
  // As today: a string is used as given, and quoted names without dots or % read as they are.
  assert.equal(exportWorkflowId('default', 'public.events', 'k'), 'pg-parquet/default/public.events/k');
  const odd = parseQualifiedName('"My Schema"."Events"');
  assert.equal(runPrefix({ table: odd, runKey: 'k' }), 'My Schema.Events/run=k/');
  assert.equal(sqlName(events), 'public.events');
  assert.equal(sqlName(odd), '"My Schema"."Events"');
});

test('two tables never share keys or a workflow id', () => {
  const left = parseQualifiedName('"a.b".c');
  const right = parseQualifiedName('a."b.c"');
  const flat = parseQualifiedName('"a.b.c"');
  const prefixes = [left, right, flat].map((table) => runPrefix({ table, runKey: 'k' }));
  assert.deepEqual(prefixes, ['a%2Eb.c/run=k/', 'a.b%2Ec/run=k/', 'public.a%2Eb%2Ec/run=k/']);
  const ids = [left, right].map((t) => exportWorkflowId('default', t, 'k'));
  assert.deepEqual(ids, ['pg-parquet/default/a%2Eb.c/k', 'pg-parquet/default/a.b%2Ec/k']);
  for (const id of ids) assert.equal(runKeyFromWorkflowId(id), 'k');
  // A literal "%2E" in a name is escaped too, so it cannot pose as an escaped dot.
  const literal = parseQualifiedName('"a%2Eb".c');
  assert.equal(runPrefix({ table: literal, runKey: 'k' }), 'a%252Eb.c/run=k/');
  assert.deepEqual([sqlName(left), sqlName(right)], ['"a.b".c', 'a."b.c"']);
  assert.deepEqual(parseQualifiedName(sqlName(left)), left);
  assert.deepEqual(parseQualifiedName(sqlName(right)), right);
});

test('keys sort in partition then batch order', () => {
  for (const compacted of [true, false]) {
    const keys = [];
    for (const p of [0, 1, 2, 10, 99, 100, 99_999])
      for (const b of [0, 1, 9, 10, 11, 100, 12_345]) keys.push(batchKey(run, compacted, p, b));
    assert.deepEqual([...keys].sort(), keys);
  }
});

test('keys are a pure function and round-trip', () => {
  assert.equal(batchKey(run, true, 5, 6), batchKey({ ...run }, true, 5, 6));
  for (const compacted of [true, false]) {
    assert.deepEqual(parseBatchKey(batchKey(run, compacted, 42, 17)), { partition: 42, batch: 17 });
  }
  assert.equal(parseBatchKey(manifestKey(run)), undefined);
  assert.equal(parseBatchKey(dataFileKey(run, 3)), undefined);
});

test('table names cannot escape their prefix', () => {
  assert.equal(runPrefix({ table: { schema: 'a/b', name: 'c%d' }, runKey: 'k' }), 'a%2Fb.c%25d/run=k/');
  assert.equal(runPrefix({ table: { schema: '..', name: 'x\\y' }, runKey: 'k' }), '%2E%2E.x%5Cy/run=k/');
  assert.equal(tablePrefix({ schema: 'a/b', name: 'c%d' }), 'a%2Fb.c%25d/');
  assert.throws(() => batchKey(run, true, -1, 0), RangeError);
  assert.throws(() => batchKey(run, false, 1.5, 0), RangeError);
});
