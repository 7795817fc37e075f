import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cursorSpan, planCompactionGroups, type CompactionInput } from '../../src/plan/compaction.js';

const file = (i: number, bytes: number, rows = 10): CompactionInput => ({
  key: `_raw/part=${String(i).padStart(5, '0')}`,
  partition: i,
  rows,
  bytes,
  cursorMin: String(i * 100),
  cursorMax: String(i * 100 + 99),
});

test('groups consecutive files up to the target size, each file exactly once, in order', () => {
  const inputs = [file(0, 40), file(1, 40), file(2, 40), file(3, 100), file(4, 150), file(5, 10)];
  const groups = planCompactionGroups(inputs, 100);
  assert.deepEqual(
    groups.map((g) => g.inputs.map((f) => f.partition)),
    [[0, 1], [2], [3], [4], [5]],
  );
  assert.deepEqual(
    groups.map((g) => g.index),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    groups.flatMap((g) => g.inputs),
    inputs,
  );
  assert.equal(
    groups.reduce((s, g) => s + g.rows, 0),
    60,
  );
  assert.ok(groups.every((g) => g.bytes <= 100 || g.inputs.length === 1));
});

test('no input, no group; a big target merges everything', () => {
  assert.deepEqual(planCompactionGroups([], 100), []);
  assert.equal(planCompactionGroups([file(0, 5), file(1, 5)], 1e9).length, 1);
});

test('cursor span compares integers, not strings', () => {
  const span = cursorSpan([
    { ...file(0, 1), cursorMin: '-9', cursorMax: '9' },
    { ...file(1, 1), cursorMin: '10', cursorMax: '9223372036854775807' },
    { ...file(2, 1), cursorMin: null, cursorMax: null },
  ]);
  assert.deepEqual(span, { min: '-9', max: '9223372036854775807' });
});
