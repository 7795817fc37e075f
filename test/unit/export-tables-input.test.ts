import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType, InputError } from '../../src/contract/errors.js';
import { resolveExportInput } from '../../src/contract/export-input.js';
import {
  childExportInput,
  globMatches,
  resolveExportTablesInput,
  selectTables,
} from '../../src/contract/export-tables-input.js';

const destination = 's3://bucket/prefix';

function fieldOf(fn: () => unknown): { type: string; field: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InputError, String(err));
    return { type: err.type, field: err.field };
  }
  return assert.fail('should throw');
}

test('glob patterns: * and ? only, everything else literal', () => {
  assert.ok(globMatches('orders_*', 'orders_2026'));
  assert.ok(globMatches('*', 'anything'));
  assert.ok(globMatches('t?', 't1'));
  assert.ok(!globMatches('t?', 't12'));
  assert.ok(!globMatches('a.b', 'aXb'));
  assert.ok(!globMatches('Orders', 'orders'));
  assert.ok(globMatches('a(b)[c]', 'a(b)[c]'));
  assert.deepEqual(selectTables(['a1', 'a2', 'b1', 'tmp_a'], ['a*', 'tmp_*'], ['*2', 'tmp_*']), ['a1']);
});

test('a schema with defaults; the children get exportTable input', () => {
  const r = resolveExportTablesInput({ source: { schema: 'Sales' }, destination, batch: { rows: 10 } });
  assert.equal(r.schema, 'sales');
  assert.equal(r.tables, null);
  assert.deepEqual(r.include, ['*']);
  assert.equal(r.maxConcurrent, 2);
  assert.equal(r.connection, 'default');
  const child = childExportInput(r, { schema: 'sales', name: 'Odd"Name' }, 'k1');
  const resolved = resolveExportInput(child);
  assert.deepEqual(resolved.table, { schema: 'sales', name: 'Odd"Name' });
  assert.equal(resolved.runKey, 'k1');
  assert.equal(resolved.batch.rows, 10);
});

test('a list, with a cursor per table', () => {
  const r = resolveExportTablesInput({
    source: { tables: ['public.a', 'b'], connection: 'wh', cursors: { 'public.b': 'created' } },
    destination,
    tables: { maxConcurrent: 5 },
  });
  assert.deepEqual(r.tables, [
    { schema: 'public', name: 'a' },
    { schema: 'public', name: 'b' },
  ]);
  assert.equal(r.maxConcurrent, 5);
  assert.equal(childExportInput(r, r.tables[1]!, 'k').source.cursor, 'created');
  assert.equal(childExportInput(r, r.tables[0]!, 'k').source.cursor, null);
  assert.equal(childExportInput(r, r.tables[0]!, 'k').source.connection, 'wh');
});

test('bad input names the field', () => {
  const cases: [unknown, string, string?][] = [
    [{ source: { schema: 's', tables: ['a'] }, destination }, 'source.tables'],
    [{ source: {}, destination }, 'source.tables'],
    [{ source: { tables: [] }, destination }, 'source.tables'],
    [{ source: { tables: ['a', 'public.a'] }, destination }, 'source.tables'],
    [{ source: { tables: ['a.b.c'] }, destination }, 'source.tables[0]'],
    [{ source: { tables: ['a'], include: ['x'] }, destination }, 'source.include'],
    [{ source: { schema: 's', include: [] }, destination }, 'source.include'],
    [{ source: { schema: 'a.b' }, destination }, 'source.schema'],
    [{ source: { schema: 's', table: 'x' }, destination }, 'source.table'],
    [{ source: { schema: 's' }, destination, tables: { maxConcurrent: 0 } }, 'tables.maxConcurrent'],
    [{ source: { schema: 's' }, destination, tables: { other: 1 } }, 'tables.other'],
    [{ source: { schema: 's', connection: '1x' }, destination }, 'source.connection'],
    [{ source: { schema: 's' }, destination, batch: { rows: 0 } }, 'batch.rows'],
    [{ source: { schema: 's' }, destination: 'ftp://x' }, 'destination', ErrorType.InvalidDestination],
  ];
  for (const [input, field, type] of cases) {
    const got = fieldOf(() => resolveExportTablesInput(input));
    assert.equal(got.field, field, JSON.stringify(input));
    assert.equal(got.type, type ?? ErrorType.InvalidInput, JSON.stringify(input));
  }
});
