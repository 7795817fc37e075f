/**
 * The extraction query is one index range scan in every partition when the cursor is NOT NULL —
 * the first one included — and without parallel workers or JIT; with a nullable cursor the first
 * partition still brings its NULLs first. Checked with PostgreSQL's own EXPLAIN and output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { ColumnSpec } from '../../src/arrow/column-spec.js';
import { copySql, SESSION_SETTINGS_SQL, type CursorRange } from '../../src/postgres/copy-query.js';
import type { KeyColumn } from '../../src/postgres/cursor-key.js';
import { database, stack } from '../support/fixtures.js';

let db: pg.Client;

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_copy_query, it_copy_query_nullable, it_copy_query_key;
    CREATE TABLE it_copy_query (id bigint PRIMARY KEY, label text);
    INSERT INTO it_copy_query SELECT g, 'l' || g FROM generate_series(1, 200000) g;
    CREATE TABLE it_copy_query_nullable (k bigint, label text);
    CREATE INDEX ON it_copy_query_nullable (k);
    INSERT INTO it_copy_query_nullable SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END, 'l' || g FROM generate_series(1, 1000) g;
    CREATE TABLE it_copy_query_key (tenant text COLLATE "en-US-x-icu", seq bigint, label text, PRIMARY KEY (tenant, seq));
    INSERT INTO it_copy_query_key SELECT 't' || (g % 50), g, 'l' || g FROM generate_series(1, 200000) g;
    ANALYZE it_copy_query; ANALYZE it_copy_query_nullable; ANALYZE it_copy_query_key;`);
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

/** The composite primary key of it_copy_query_key, collated as its index. */
const KEY: KeyColumn[] = [
  { name: 'tenant', pgType: 'text', collation: '"pg_catalog"."en-US-x-icu"', nullable: false },
  { name: 'seq', pgType: 'bigint', collation: null, nullable: false },
];

function keysetSelect(range: CursorRange): string {
  const sql = copySql({
    schema: 'public',
    table: 'it_copy_query_key',
    cursor: 'tenant',
    cursorKind: 'keyset',
    key: KEY,
    columns: [spec('seq', false)],
    where: null,
    range,
    cursorNullable: false,
  });
  return /^COPY \((.*)\) TO STDOUT/s.exec(sql)![1]!;
}

test('a composite keyset cursor: row comparisons are index range scans, resumed ones too', async () => {
  for (const range of [
    { lo: null, hi: ['t3', '1000'], includesNulls: true },
    { lo: ['t3', '1000'], hi: ['t4', '5'], includesNulls: false },
    { lo: ['t3', '1000'], after: ["t3'x", '77'], hi: null, includesNulls: false },
  ]) {
    const nodes = await planNodes(keysetSelect(range));
    assert.ok(nodes[0] === 'Index Scan' || nodes[0] === 'Index Only Scan', JSON.stringify(nodes));
    assert.ok(!nodes.includes('Sort') && !nodes.includes('Seq Scan'), JSON.stringify(nodes));
  }
  // The rows of a range are exactly those between its bounds in the key's order.
  const r = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM (${keysetSelect({ lo: ['t3', '1000'], hi: ['t4', '5'], includesNulls: false })}) s`,
  );
  const expected = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM it_copy_query_key
      WHERE (tenant COLLATE "en-US-x-icu", seq) >= ('t3', 1000) AND (tenant COLLATE "en-US-x-icu", seq) < ('t4', 5)`,
  );
  assert.equal(r.rows[0]!.n, expected.rows[0]!.n);
  assert.ok(Number(r.rows[0]!.n) > 0);
});

test('a ctid page range is a TID Range Scan (PostgreSQL 14+)', async () => {
  const sql = copySql({
    schema: 'public',
    table: 'it_copy_query',
    cursor: 'ctid',
    cursorKind: 'ctid',
    columns: [spec('id', false)],
    where: null,
    range: { lo: '10', hi: '20', includesNulls: true },
  });
  const select = /^COPY \((.*)\) TO STDOUT/s.exec(sql)![1]!;
  const nodes = await planNodes(select);
  assert.ok(nodes.includes('Tid Range Scan'), JSON.stringify(nodes));
  // Exactly the rows on pages 10..19.
  const r = await db.query<{ n: string; m: string }>(
    `SELECT count(*)::text AS n, (SELECT count(*) FROM it_copy_query WHERE (ctid::text::point)[0] >= 10 AND (ctid::text::point)[0] < 20)::text AS m FROM (${select}) s`,
  );
  assert.equal(r.rows[0]!.n, r.rows[0]!.m);
  assert.ok(Number(r.rows[0]!.n) > 0);
});
