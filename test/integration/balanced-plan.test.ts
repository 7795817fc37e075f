/** Row-balanced planning on a real skewed table (the shape of bench_skewed). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { planBalancedRanges } from '../../src/plan/balanced.js';
import { cursorQuantiles } from '../../src/plan/cursor-stats.js';
import { planUniformRanges, type PartitionRange } from '../../src/plan/partitions.js';
import { rangeCondition } from '../../src/postgres/copy-query.js';
import { database, stack } from '../support/fixtures.js';

const ROWS = 200_000;
let db: pg.Client;

before(async () => {
  stack();
  db = await database();
  // 10% sparse rows over ids [90, 9 * rows], then 90% dense after 9 * rows.
  await db.query(`DROP TABLE IF EXISTS it_skewed; CREATE TABLE it_skewed (id bigint PRIMARY KEY, label text);
    INSERT INTO it_skewed SELECT CASE WHEN g <= ${ROWS} / 10 THEN g * 90 ELSE 9 * ${ROWS}::bigint + g END, 'row-' || g
      FROM generate_series(1::bigint, ${ROWS}) g;`);
});
after(async () => db?.end());

async function rowsPer(ranges: PartitionRange[], where = 'true'): Promise<number[]> {
  const out: number[] = [];
  for (const r of ranges) {
    const q = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM it_skewed WHERE ${rangeCondition('id', r)} AND (${where})`,
    );
    out.push(Number(q.rows[0]!.n));
  }
  return out;
}

const ratio = (rows: number[]) => Math.max(...rows) / Math.min(...rows.filter((n) => n > 0));

async function plan(where: string | null) {
  const b = await db.query<{ min: string; max: string }>(
    `SELECT min(id)::text AS min, max(id)::text AS max FROM it_skewed WHERE ${where ?? 'true'}`,
  );
  const { min, max } = b.rows[0]!;
  const q = await cursorQuantiles(db, {
    schema: 'public',
    table: 'it_skewed',
    cursor: 'id',
    where,
    min,
    max,
  });
  return { q, ranges: planBalancedRanges({ bounds: q.bounds, count: 8, maxPartitions: 1000 }), min, max };
}

test('never analyzed: a sample balances 8 partitions within 1.5x', async (t) => {
  await db.query("SELECT pg_stat_reset_single_table_counters('it_skewed'::regclass)");
  const { q, ranges } = await plan(null);
  const rows = await rowsPer(ranges);
  t.diagnostic(`source ${q.source}, rows per partition ${rows.join(', ')}, ratio ${ratio(rows).toFixed(3)}`);
  assert.equal(
    rows.reduce((a, b) => a + b, 0),
    ROWS,
  );
  assert.ok(ratio(rows) <= 1.5, `ratio ${ratio(rows)}`);
});

test('analyzed: pg_stats histogram balances within 1.5x, uniform splitting does not', async (t) => {
  await db.query('ANALYZE it_skewed');
  const { q, ranges, min, max } = await plan(null);
  assert.equal(q.source, 'pg_stats');
  const rows = await rowsPer(ranges);
  t.diagnostic(`rows per partition ${rows.join(', ')}, ratio ${ratio(rows).toFixed(3)}`);
  assert.equal(ranges.length, 8);
  assert.ok(ratio(rows) <= 1.5, `ratio ${ratio(rows)}`);
  const uniform = await rowsPer(
    planUniformRanges({ min, max, totalBytes: 0, targetBytes: 1, count: 8, maxPartitions: 1000 }),
  );
  t.diagnostic(`uniform split: ${uniform.join(', ')}`);
  assert.ok(Math.max(...uniform) > 0.8 * ROWS, 'min/max splitting puts most rows in one partition');
});

test('with a where filter, the plan samples the filtered rows', async () => {
  const where = 'id % 3 = 0';
  const { q, ranges } = await plan(where);
  assert.equal(q.source, 'sample');
  const rows = await rowsPer(ranges, where);
  assert.ok(ratio(rows) <= 1.5, `ratio ${ratio(rows)}: ${rows.join(', ')}`);
});
