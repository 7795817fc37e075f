/**
 * Incremental runs, the pure parts: durations, the watermark kind, the high-water, the chain rule,
 * the SQL condition (the input fields are tested in export-input.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType, PgParquetError } from '../../src/contract/errors.js';
import { parseDuration, type WatermarkRange } from '../../src/contract/incremental.js';
import { chainProblem, highWater, watermarkKindOf, watermarkText } from '../../src/plan/watermark.js';
import { rowFilterSql } from '../../src/postgres/copy-query.js';
import { watermarkCondition } from '../../src/postgres/watermark.js';

describe('parseDuration', () => {
  test('units and sums', () => {
    assert.equal(parseDuration('5 minutes'), 300_000_000);
    assert.equal(parseDuration('90s'), 90_000_000);
    assert.equal(parseDuration('1h 2m 3s'), 3_723_000_000);
    assert.equal(parseDuration('250 ms'), 250_000);
    assert.equal(parseDuration('7 us'), 7);
    assert.equal(parseDuration('2 Weeks'), 14 * 86_400_000_000);
    assert.equal(parseDuration('0 s'), 0);
  });
  test('refuses what has no fixed length or no unit', () => {
    for (const bad of ['', '5', 'minutes', '1 month', '1 year', '-5 s', '1.5 s', '5 s;', '400 days']) {
      assert.equal(parseDuration(bad), undefined, bad);
    }
  });
});

describe('watermarkKindOf', () => {
  const column = { name: 'c', pgType: 'x', lag: null };
  test('integers and timestamps; not dates, not text', () => {
    assert.equal(watermarkKindOf({ ...column, cursorKind: 'integer' }), 'integer');
    assert.equal(watermarkKindOf({ ...column, cursorKind: 'timestamptz' }), 'timestamptz');
    for (const cursorKind of ['date', undefined] as const) {
      assert.throws(
        () => watermarkKindOf({ ...column, cursorKind }),
        (e: unknown) =>
          e instanceof PgParquetError &&
          e.type === ErrorType.UnsupportedWatermark &&
          e.details.field === 'incremental.column',
      );
    }
  });
  test('the lag must fit the column', () => {
    const lagError = (e: unknown) =>
      e instanceof PgParquetError &&
      e.type === ErrorType.InvalidInput &&
      e.details.field === 'incremental.lag';
    assert.throws(
      () =>
        watermarkKindOf({
          ...column,
          cursorKind: 'integer',
          lag: { kind: 'duration', micros: 1, text: '1 us' },
        }),
      lagError,
    );
    assert.throws(
      () => watermarkKindOf({ ...column, cursorKind: 'timestamp', lag: { kind: 'ids', amount: 1 } }),
      lagError,
    );
  });
});

describe('highWater', () => {
  test('integers: max less the lag, never below from', () => {
    const ids = { kind: 'integer', now: null } as const;
    assert.equal(highWater({ ...ids, from: null, highest: '100', lag: null }), '100');
    assert.equal(highWater({ ...ids, from: '50', highest: '100', lag: { kind: 'ids', amount: 10 } }), '90');
    assert.equal(highWater({ ...ids, from: '95', highest: '100', lag: { kind: 'ids', amount: 10 } }), '95');
    assert.equal(highWater({ ...ids, from: '95', highest: '20', lag: null }), '95', 'after deletes');
    assert.equal(highWater({ ...ids, from: null, highest: null, lag: null }), null, 'an empty table');
    assert.equal(highWater({ ...ids, from: '7', highest: null, lag: null }), '7');
  });
  test('timestamps: max, but no later than now less the lag', () => {
    const ts = { kind: 'timestamptz', from: '0' } as const;
    const minute = { kind: 'duration', micros: 60_000_000, text: '1 minute' } as const;
    assert.equal(highWater({ ...ts, highest: '1000', now: '5000', lag: null }), '1000');
    assert.equal(highWater({ ...ts, highest: '9000', now: '5000', lag: null }), '5000', 'future rows wait');
    assert.equal(highWater({ ...ts, highest: '600000000', now: '100000000', lag: minute }), '40000000');
    assert.equal(highWater({ ...ts, highest: '600000000', now: '10000000', lag: minute }), '0', 'clamped');
  });
});

describe('chainProblem', () => {
  const range = (from: string | null, to: string | null, column = 'u'): WatermarkRange => ({
    column,
    pgType: 'bigint',
    kind: 'integer',
    from,
    to,
    previousRunKey: null,
  });
  const at = (runKey: string, w: WatermarkRange) => ({ runKey, watermark: w });
  test('contiguous neighbours, gaps left by deleted runs and no neighbours pass', () => {
    assert.equal(chainProblem(range(null, '10'), undefined, undefined), undefined);
    assert.equal(
      chainProblem(range('10', '20'), at('a', range(null, '10')), at('c', range('20', '30'))),
      undefined,
    );
    assert.equal(chainProblem(range('10', '20'), at('a', range(null, '5')), undefined), undefined);
    assert.equal(chainProblem(range(null, null), undefined, at('c', range(null, '30'))), undefined);
  });
  test('overlaps and another column are refused', () => {
    assert.ok(chainProblem(range('10', '20'), at('a', range('5', '15')), undefined));
    assert.ok(chainProblem(range(null, '20'), at('a', range(null, '15')), undefined));
    assert.ok(chainProblem(range('10', '20'), undefined, at('c', range('10', '30'))));
    assert.ok(chainProblem(range('10', '20'), undefined, at('c', range(null, '30'))));
    assert.ok(chainProblem(range('10', '20'), at('a', range(null, '10', 'v')), undefined));
  });
});

describe('SQL of a watermark range', () => {
  const w: WatermarkRange = {
    column: 'Up"d',
    pgType: 'bigint',
    kind: 'integer',
    from: '5',
    to: '9',
    previousRunKey: 'r1',
  };
  test('quoted column, typed literals, FALSE with nothing to export', () => {
    assert.equal(watermarkCondition(w), `("Up""d" > '5'::int8 AND "Up""d" <= '9'::int8)`);
    assert.equal(watermarkCondition({ ...w, from: null }), `("Up""d" <= '9'::int8)`);
    assert.equal(watermarkCondition({ ...w, from: null, to: null }), 'FALSE');
    assert.match(watermarkCondition({ ...w, kind: 'timestamptz' }), /timestamptz '1970-01-01 00:00:00\+00'/);
  });
  test('a bound that is not an integer never reaches SQL', () => {
    assert.throws(() => watermarkCondition({ ...w, to: "1'; DROP TABLE x; --" }), RangeError);
  });
  test('combined with the user filter', () => {
    assert.equal(rowFilterSql({ where: null, watermark: null }), null);
    assert.equal(rowFilterSql({ where: 'a > 1' }), '(a > 1)');
    assert.equal(rowFilterSql({ where: 'a > 1', watermark: w }), `(a > 1) AND ${watermarkCondition(w)}`);
  });
  test('bounds as people read them', () => {
    assert.equal(watermarkText('integer', '42'), '42');
    assert.equal(watermarkText('timestamptz', '1733000000123456'), '2024-11-30T20:53:20.123456Z');
    assert.equal(watermarkText('timestamp', '-1'), '1969-12-31T23:59:59.999999');
    assert.equal(watermarkText('timestamp', null), '-');
  });
});
