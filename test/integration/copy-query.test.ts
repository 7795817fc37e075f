/**
 * The extraction query is one index range scan in every partition when the cursor is NOT NULL —
 * the first one included — and without parallel workers or JIT; with a nullable cursor the first
 * partition still brings its NULLs first. Checked with PostgreSQL's own EXPLAIN and output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { ColumnSpec } from '../../src/arrow/column-spec.js';
import { copySql, SESSION_SETTINGS_SQL } from '../../src/postgres/copy-query.js';
import { database, stack } from '../support/fixtures.js';

let db: pg.Client;

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_copy_query, it_copy_query_nullable;
    CREATE TABLE it_copy_query (id bigint PRIMARY KEY, label text);
    INSERT INTO it_copy_query SELECT g, 'l' || g FROM generate_series(1, 200000) g;
    CREATE TABLE it_copy_query_nullable (k bigint, label text);
    CREATE INDEX ON it_copy_query_nullable (k);
    INSERT INTO it_copy_query_nullable SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END, 'l' || g FROM generate_series(1, 1000) g;
    ANALYZE it_copy_query; ANALYZE it_copy_query_nullable;`);
});
after(async () => db?.end());

const spec = (name: string, nullable: boolean): ColumnSpec => ({
  name,
  pgType: 'bigint',
  arrowType: 'Int64',
  selectExpr: `"${name}"`,
  kind: 'int8',
  nullable,
});

/** The SELECT inside the COPY, as the extraction runs it. */
function selectOf(
  table: string,
  cursor: string,
  nullable: boolean,
  range: { lo: string | null; hi: string | null },
) {
  const sql = copySql({
    schema: 'public',
    table,
    cursor,
    cursorKind: 'integer',
    columns: [spec(cursor, nullable)],
    where: null,
    range: { ...range, includesNulls: true },
    cursorNullable: nullable,
  });
  return /^COPY \((.*)\) TO STDOUT/s.exec(sql)![1]!;
}

/** Node types of a plan, depth first. */
async function planNodes(select: string): Promise<string[]> {
  await db.query('BEGIN');
  try {
    await db.query(SESSION_SETTINGS_SQL);
    const r = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${select}`);
    const out: string[] = [];
    const walk = (n: PlanNode) => {
      out.push(n['Node Type']);
      for (const c of n.Plans ?? []) walk(c);
    };
    walk(r.rows[0]!['QUERY PLAN'][0].Plan);
    return out;
  } finally {
    await db.query('ROLLBACK');
  }
}
interface PlanNode {
  'Node Type': string;
  Plans?: PlanNode[];
}

test('a NOT NULL cursor: the first and a middle partition are plain index range scans', async () => {
  for (const range of [
    { lo: null, hi: '100000' },
    { lo: '100000', hi: '150000' },
  ]) {
    const nodes = await planNodes(selectOf('it_copy_query', 'id', false, range));
    assert.ok(nodes[0] === 'Index Scan' || nodes[0] === 'Index Only Scan', JSON.stringify(nodes));
    assert.ok(
      !nodes.includes('Sort') && !nodes.includes('Gather Merge') && !nodes.includes('Seq Scan'),
      JSON.stringify(nodes),
    );
  }
});

test('a nullable cursor: the first partition returns its NULLs first, then the range in order', async () => {
  const select = selectOf('it_copy_query_nullable', 'k', true, { lo: null, hi: '500' });
  const r = await db.query<{ k: string | null }>(select);
  const ks = r.rows.map((x) => x.k);
  const nulls = ks.filter((k) => k === null).length;
  assert.equal(nulls, 100);
  assert.ok(
    ks.slice(0, nulls).every((k) => k === null),
    'NULLs come first',
  );
  const rest = ks.slice(nulls).map(Number);
  assert.deepEqual(
    rest,
    [...rest].sort((a, b) => a - b),
  );
  assert.equal(rest.length, 499 - 49);
});
