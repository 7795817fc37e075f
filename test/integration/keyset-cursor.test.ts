/**
 * Keyset cursors against the real services: uuid, text (an ICU collation, and a column whose
 * unique index is COLLATE "C"), numeric and composite primary keys, each exported exactly
 * (DuckDB reads back count, distinct keys, the set of keys and sums), balanced on a skewed key;
 * a non-unique timestamp cursor gets a tie-breaker and a re-run is byte-identical; cursors of
 * types without a usable order are refused, typed, before any work. A table without a key is
 * read by ctid page ranges inside the run's snapshot (exact although rows move between pages
 * between two ranges' reads), and refused without `consistency: "snapshot"`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ErrorType } from '../../src/contract/errors.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { RunPlan } from '../../src/run/run-plan.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { exportSnapshot } from '../../src/postgres/snapshot.js';
import { planExport, planRanges } from '../../src/export/plan-export.js';
import { extractPartition } from '../../src/export/extract-partition.js';
import { openObjectStore } from '../../src/storage/destination.js';
import { RunStore } from '../../src/run/run-store.js';
import { cursorRangeCondition } from '../../src/postgres/copy-query.js';
import {
  expectExportFailure,
  scheduledActivities,
  startHarness,
  type TemporalHarness,
} from '../support/temporal.js';
import {
  bucket,
  database,
  download,
  getObject,
  listObjects,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';

let harness: TemporalHarness;
let db: pg.Client;

const ROWS = 20_000;

before(async () => {
  stack();
  db = await database();
  await db.query(`
    DROP TABLE IF EXISTS it_ak_uuid, it_ak_text, it_ak_textc, it_ak_num, it_ak_comp, it_ak_ties, it_ak_bad, it_ak_heap;
    -- no key at all: n is never updated (what the checks count), touched is (rows move between pages).
    CREATE TABLE it_ak_heap (n int NOT NULL, label text NOT NULL, touched int NOT NULL DEFAULT 0);
    INSERT INTO it_ak_heap SELECT g, 'row ' || g, 0 FROM generate_series(1, ${ROWS}) g;
    -- uuid primary key (the default of many frameworks), values spread evenly.
    CREATE TABLE it_ak_uuid (id uuid PRIMARY KEY, v int NOT NULL);
    INSERT INTO it_ak_uuid SELECT md5(g::text)::uuid, g FROM generate_series(1, ${ROWS}) g;
    -- text primary key in an ICU collation (a < B < b, unlike "C"), skewed: 90% of keys start with "zz".
    CREATE TABLE it_ak_text (id text COLLATE "en-US-x-icu" PRIMARY KEY, v int NOT NULL);
    INSERT INTO it_ak_text SELECT CASE WHEN g <= ${ROWS / 10}
        THEN (CASE g % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'B' ELSE 'b' END) || (g * 7919 % 1000003)::text || ' é''"\\'
        ELSE 'zz' || lpad(g::text, 7, '0') END, g
      FROM generate_series(1, ${ROWS}) g;
    -- the column's collation is ICU, its unique index sorts by "C": the index's order is used.
    CREATE TABLE it_ak_textc (id int NOT NULL, name text COLLATE "en-US-x-icu" NOT NULL, v int NOT NULL);
    CREATE UNIQUE INDEX it_ak_textc_name ON it_ak_textc (name COLLATE "C");
    INSERT INTO it_ak_textc SELECT g, (CASE g % 2 WHEN 0 THEN 'a' ELSE 'B' END) || lpad(g::text, 6, '0'), g
      FROM generate_series(1, ${ROWS}) g;
    -- numeric primary key, skewed: 10% spread over a billion, 90% packed within 1.
    CREATE TABLE it_ak_num (id numeric(20,4) PRIMARY KEY, v int NOT NULL);
    INSERT INTO it_ak_num SELECT CASE WHEN g <= ${ROWS / 10} THEN g * 499999.1234 ELSE 1000000000 + g / 10000.0 END, g
      FROM generate_series(1, ${ROWS}) g;
    -- composite primary key (tenant, seq), skewed: one tenant holds 90% of the rows.
    CREATE TABLE it_ak_comp (tenant text NOT NULL, seq bigint NOT NULL, v int NOT NULL, PRIMARY KEY (tenant, seq));
    INSERT INTO it_ak_comp SELECT CASE WHEN g <= ${ROWS / 10} THEN 't' || lpad((g % 40)::text, 2, '0') ELSE 'big' END, g, g
      FROM generate_series(1, ${ROWS}) g;
    -- a non-unique timestamp cursor: 50 distinct values, each held by 400 rows.
    CREATE TABLE it_ak_ties (id int PRIMARY KEY, created_at timestamptz NOT NULL, v int NOT NULL);
    CREATE INDEX ON it_ak_ties (created_at);
    INSERT INTO it_ak_ties SELECT g, timestamptz '2026-01-01 00:00:00+00' + (g * 7 % 50) * interval '1 hour', g
      FROM generate_series(1, ${ROWS}) g;
    CREATE TABLE it_ak_bad (id int PRIMARY KEY, doc jsonb, tags int[], score float8, ratio real);
    INSERT INTO it_ak_bad SELECT g, '{}'::jsonb, ARRAY[g], g, g FROM generate_series(1, 10) g;
    ANALYZE it_ak_uuid, it_ak_text, it_ak_textc, it_ak_num, it_ak_comp, it_ak_ties;`);
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
  await db?.end();
});

interface Exported {
  readonly result: ExportTableResult;
  readonly manifest: Manifest;
  readonly plan: RunPlan;
  readonly prefix: string;
  readonly paths: string[];
}

async function exportTable(table: string, extra: Record<string, unknown> = {}, prefix = uniquePrefix(table)) {
  const source = (extra.source as Record<string, unknown> | undefined) ?? {};
  const result = (await harness.client.workflow.execute('exportTable', {
    taskQueue: harness.taskQueue,
    workflowId: `it-keyset-${randomUUID()}`,
    args: [
      {
        destination: `s3://${bucket()}/${prefix}`,
        runKey: 'k',
        partitions: { count: 6, maxConcurrent: 3 },
        batch: { rows: 1500 },
        ...extra,
        source: { table, ...source },
      },
    ],
  })) as ExportTableResult;
  const storage = s3();
  const run = `${prefix}/public.${table}/run=k`;
  const read = async <T>(key: string) =>
    JSON.parse(new TextDecoder().decode(await getObject(storage, key))) as T;
  const manifest = await read<Manifest>(`${run}/_manifest.json`);
  const plan = await read<RunPlan>(`${run}/_plan.json`);
  const paths = await download(
    storage,
    manifest.files.map((f) => `${prefix}/${f.key}`),
  );
  return { result, manifest, plan, prefix, paths } satisfies Exported;
}

/**
 * Every source row exactly once: count, distinct keys, the md5 of all keys in byte order (the
 * same set of keys) and the sum of `v`, read by DuckDB and compared with PostgreSQL.
 */
async function assertExact(e: Exported, table: string, key: string, keyText: string) {
  const [out] = await queryParquet(
    e.paths,
    `SELECT count(*)::VARCHAR AS n, count(DISTINCT ${key})::VARCHAR AS keys, sum(v)::VARCHAR AS total,
            md5(string_agg(${keyText}, '|' ORDER BY ${keyText})) AS digest FROM read_parquet($files)`,
  );
  const src = (
    await db.query<{ n: string; total: string; digest: string }>(
      `SELECT count(*)::text AS n, sum(v)::text AS total,
              md5(string_agg(${keyText}, '|' ORDER BY ${keyText} COLLATE "C")) AS digest FROM ${table}`,
    )
  ).rows[0]!;
  assert.equal(out!.n, src.n, 'row count');
  assert.equal(out!.keys, src.n, 'no key twice');
  assert.equal(out!.total, src.total, 'sum of v');
  assert.equal(out!.digest, src.digest, 'the same set of keys');
  assert.equal(e.result.rows, Number(src.n));
}

/** Largest ÷ smallest partition: balanced when the plan followed the key's distribution. */
function balance(m: Manifest): number {
  const rows = m.partitions.map((p) => p.sourceRows);
  return Math.max(...rows) / Math.min(...rows);
}

describe('keyset cursors', () => {
  test('uuid primary key: the default cursor, exact, balanced, bounds round-trip', async (t) => {
    const e = await exportTable('it_ak_uuid');
    assert.equal(e.plan.cursorKind, 'keyset');
    assert.equal(e.plan.cursor, 'id');
    await assertExact(e, 'it_ak_uuid', 'id', 'id::text');
    t.diagnostic(`rows per partition ${e.manifest.partitions.map((p) => p.sourceRows).join(', ')}`);
    assert.equal(e.manifest.partitions.length, 6);
    assert.ok(balance(e.manifest) <= 1.5, `balance ${balance(e.manifest)}`);
    // Each bound is an array of the key's texts, which PostgreSQL casts back to a key of the table.
    for (const p of e.manifest.partitions.slice(1)) {
      assert.ok(Array.isArray(p.lo) && p.lo.length === 1);
      const r = await db.query('SELECT 1 FROM it_ak_uuid WHERE id = $1::uuid', [p.lo[0]]);
      assert.equal(r.rowCount, 1, `bound ${JSON.stringify(p.lo)} is a key of the table`);
    }
    assert.equal(e.manifest.version, 3);
  });

  test('text primary key in an ICU collation: exact and balanced on a skewed key', async (t) => {
    const e = await exportTable('it_ak_text');
    await assertExact(e, 'it_ak_text', 'id', 'id');
    t.diagnostic(`rows per partition ${e.manifest.partitions.map((p) => p.sourceRows).join(', ')}`);
    assert.ok(balance(e.manifest) <= 1.5, `balance ${balance(e.manifest)}`);
    assert.match(e.plan.cursorKey![0]!.collation!, /en-US-x-icu/);
    // Partitions follow the collation's order: every key of partition i sorts before partition i+1's.
    const [r] = await queryParquet(e.paths, 'SELECT count(*)::VARCHAR AS n FROM read_parquet($files)');
    assert.equal(r!.n, String(ROWS));
  });

  test('text column whose unique index sorts by "C": ranges and order follow the index', async () => {
    const e = await exportTable('it_ak_textc', { source: { cursor: 'name' } });
    assert.equal(e.plan.cursorUnique, true);
    assert.match(e.plan.cursorKey![0]!.collation!, /"C"/);
    await assertExact(e, 'it_ak_textc', 'name', 'name');
    // In "C" order every "B…" key comes before every "a…" key: the first partitions hold the B's.
    const firstFile = e.manifest.files[0]!;
    assert.match((firstFile.cursorMin as string[])[0]!, /^B/);
    assert.match((e.manifest.files.at(-1)!.cursorMax as string[])[0]!, /^a/);
  });

  test('numeric primary key: exact, balanced on a skewed key', async (t) => {
    const e = await exportTable('it_ak_num');
    const [out] = await queryParquet(
      e.paths,
      'SELECT sum(id)::VARCHAR AS s, count(DISTINCT id)::VARCHAR AS k FROM read_parquet($files)',
    );
    const src = (await db.query<{ s: string }>('SELECT sum(id)::text AS s FROM it_ak_num')).rows[0]!;
    assert.equal(out!.s, src.s, 'sum of the numeric keys');
    assert.equal(out!.k, String(ROWS));
    await assertExact(e, 'it_ak_num', 'id', 'id::VARCHAR');
    t.diagnostic(`rows per partition ${e.manifest.partitions.map((p) => p.sourceRows).join(', ')}`);
    assert.ok(balance(e.manifest) <= 1.5, `balance ${balance(e.manifest)}`);
  });

  test('composite primary key (tenant, seq): row comparisons, exact, balanced inside one big tenant', async (t) => {
    const e = await exportTable('it_ak_comp');
    assert.deepEqual(
      e.plan.cursorKey!.map((k) => k.name),
      ['tenant', 'seq'],
    );
    assert.deepEqual(
      e.manifest.cursorKey!.map((k) => k.name),
      ['tenant', 'seq'],
    );
    await assertExact(e, 'it_ak_comp', 'tenant || seq', `tenant || ':' || seq::VARCHAR`);
    t.diagnostic(`rows per partition ${e.manifest.partitions.map((p) => p.sourceRows).join(', ')}`);
    assert.ok(balance(e.manifest) <= 1.5, `balance ${balance(e.manifest)}`);
    // Contiguous bounds: each partition starts where the one before ends, as two-value keys.
    const parts = e.manifest.partitions;
    for (let i = 1; i < parts.length; i++) assert.deepEqual(parts[i]!.lo, parts[i - 1]!.hi);
    assert.equal((parts[1]!.lo as string[]).length, 2);
  });

  test('a non-unique timestamp cursor: the primary key breaks ties, and a re-run is byte-identical', async () => {
    const input = {
      source: { cursor: 'created_at' },
      partitions: { count: 4, maxConcurrent: 2 },
      transform: { extractedAtColumn: null },
      consistency: 'partition',
      compaction: { enabled: false },
    };
    const a = await exportTable('it_ak_ties', input);
    assert.equal(a.plan.cursorUnique, false);
    assert.deepEqual(a.plan.tieBreaker, ['id']);
    await assertExact(a, 'it_ak_ties', 'id', 'id::VARCHAR');
    // Within each file, rows of one created_at come in id order (the tie-breaker).
    const [order] = await queryParquet(
      a.paths,
      `SELECT count(*)::VARCHAR AS bad FROM (
         SELECT created_at, id, lag(created_at) OVER w AS pc, lag(id) OVER w AS pid
           FROM (SELECT *, filename, file_row_number FROM read_parquet($files, filename = true, file_row_number = true))
         WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))
        WHERE pc IS NOT NULL AND (created_at < pc OR (created_at = pc AND id <= pid))`,
    );
    assert.equal(order!.bad, '0', 'rows ordered by (created_at, id) in every file');
    // Shuffle the heap so that an order without tie-breaker would differ, then export again.
    await db.query('UPDATE it_ak_ties SET v = v WHERE id % 3 = 0');
    await db.query('VACUUM it_ak_ties');
    const b = await exportTable('it_ak_ties', input);
    // Data files (not the run's `_` documents) by key → their bytes' SHA-256.
    const digest = async (e: Exported) => {
      const run = `${e.prefix}/public.it_ak_ties/run=k`;
      const keys = [...(await listObjects(s3(), run)).keys()].filter((k) => !k.startsWith('_')).sort();
      const hashes = new Map<string, string>();
      for (const k of keys)
        hashes.set(
          k,
          createHash('sha256')
            .update(await getObject(s3(), `${run}/${k}`))
            .digest('hex'),
        );
      return hashes;
    };
    const [da, db2] = [await digest(a), await digest(b)];
    assert.ok(da.size > 1, `${da.size} data files`);
    assert.deepEqual(db2, da, 'every data file byte-identical');
  });

  test('cursors without a usable order are refused before any work, naming the accepted kinds', async () => {
    for (const cursor of ['doc', 'tags', 'score', 'ratio']) {
      const run = await expectExportFailure(harness, {
        source: { table: 'it_ak_bad', cursor },
        destination: `s3://${bucket()}/${uniquePrefix('ak-bad')}`,
      });
      assert.equal(run.failure.type, ErrorType.UnsupportedCursor, cursor);
      assert.equal(run.failure.nonRetryable, true);
      const details = run.failure.details?.[0] as { field?: string; value?: string; accepted?: string };
      assert.equal(details.field, 'source.cursor');
      assert.equal(details.value, cursor);
      assert.ok(details.accepted);
      assert.equal(scheduledActivities(run.history), 1, 'only planning ran, and it stored nothing');
    }
  });
});

test('a sampled plan (100,000 of 1,000,000 keys) of a skewed composite key is balanced within 1.5×', async (t) => {
  // 1M rows: more than the sample's 100,000 rows, so the cuts come from a real sample.
  await db.query(`DROP TABLE IF EXISTS it_ak_big;
    CREATE TABLE it_ak_big (tenant text COLLATE "en-US-x-icu" NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant, id));
    INSERT INTO it_ak_big SELECT CASE WHEN g <= 100000 THEN 'T' || (g % 500) ELSE 'big' END, md5(g::text)::uuid
      FROM generate_series(1, 1000000) g;`);
  const destination = `s3://${bucket()}/${uniquePrefix('ak-big')}`;
  const table = { schema: 'public', name: 'it_ak_big' };
  const deps = { openStore: openObjectStore };
  const { plan } = await planExport(
    {
      connection: 'default',
      table,
      cursor: null,
      columns: null,
      where: null,
      destination,
      runKey: 'k',
      startedAt: new Date().toISOString(),
      partitions: { count: 16, targetBytes: 1 << 29, strategy: 'auto' },
      timestampUnit: 'us',
    },
    deps,
  );
  assert.equal(plan.balance, 'sample');
  const { ranges } = await planRanges(
    { table, destination, runKey: 'k', start: 0, count: plan.partitionCount },
    deps,
  );
  assert.equal(ranges.length, 16);
  // Rows per range, counted by PostgreSQL with the same conditions the extraction uses.
  const rows: number[] = [];
  for (const r of ranges) {
    const where = cursorRangeCondition(
      { cursor: plan.cursor, cursorKind: plan.cursorKind, key: plan.cursorKey ?? null },
      r,
    );
    rows.push(
      Number(
        (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM it_ak_big WHERE ${where}`)).rows[0]!
          .n,
      ),
    );
  }
  const ratio = Math.max(...rows) / Math.min(...rows);
  t.diagnostic(`rows per partition ${rows.join(', ')}; largest ÷ smallest ${ratio.toFixed(3)}`);
  assert.equal(
    rows.reduce((a, b) => a + b, 0),
    1_000_000,
  );
  assert.ok(ratio <= 1.5, `ratio ${ratio}`);
  await db.query('DROP TABLE it_ak_big');
});

describe('tables without a key: ctid page ranges inside one snapshot', () => {
  test('exported exactly by page ranges although rows move between pages after the first range was read', async (t) => {
    // The export's phases called directly, so that rows move at a known point: after partition 0.
    const holder = await database();
    const snapshot = await exportSnapshot(holder);
    const destination = `s3://${bucket()}/${uniquePrefix('ak-heap')}`;
    const table = { schema: 'public', name: 'it_ak_heap' };
    const runKey = 'k';
    const deps = { openStore: openObjectStore };
    try {
      const { plan } = await planExport(
        {
          connection: 'default',
          table,
          cursor: null,
          columns: null,
          where: null,
          destination,
          runKey,
          startedAt: new Date().toISOString(),
          partitions: { count: 4, targetBytes: 1 << 29, strategy: 'auto' },
          timestampUnit: 'us',
          snapshotId: snapshot.id,
          strictSnapshot: true,
        },
        deps,
      );
      assert.equal(plan.cursorKind, 'ctid');
      const { ranges } = await planRanges(
        { table, destination, runKey, start: 0, count: plan.partitionCount },
        deps,
      );
      assert.equal(ranges.length, 4);
      t.diagnostic(`page ranges ${ranges.map((p) => `[${String(p.lo)}, ${String(p.hi)})`).join(' ')}`);
      const extract = (partition: (typeof ranges)[number]) =>
        extractPartition(
          {
            connection: 'default',
            table,
            destination,
            runKey,
            partition,
            batch: { rows: 700, bytes: 1 << 26 },
            transform: { extractedAtColumn: null, extractionIdColumn: null, timestampUnit: 'us' },
            parquet: { compression: 'zstd', rowGroupRows: 1_000_000 },
            snapshot,
            strictSnapshot: true,
          },
          { heartbeat: () => undefined, signal: new AbortController().signal },
          deps,
        );
      await extract(ranges[0]!);
      // Every row of the first range moves to the end of the heap (the last range), committed.
      const moved = await db.query(
        `WITH moved AS (DELETE FROM it_ak_heap WHERE ctid < '(${String(ranges[0]!.hi)},0)'::tid RETURNING n, label, touched)
         INSERT INTO it_ak_heap SELECT n, label, touched + 1 FROM moved`,
      );
      assert.ok((moved.rowCount ?? 0) > 0);
      for (const r of ranges.slice(1)) await extract(r);
      const store = openObjectStore(destination);
      const run = RunStore.open(store, table, runKey);
      const files: string[] = [];
      for (const r of ranges)
        files.push(...(await run.finishedPartition(r.index, null))!.files.map((f) => f.key));
      const local = await download(
        s3(),
        files.map((k) => `${destination.slice(`s3://${bucket()}/`.length)}/${k}`),
      );
      const [out] = await queryParquet(
        local,
        `SELECT count(*)::VARCHAR AS n, count(DISTINCT n)::VARCHAR AS keys, sum(n)::VARCHAR AS total,
                md5(string_agg(label, '|' ORDER BY label)) AS digest FROM read_parquet($files)`,
      );
      const src = (
        await db.query<{ n: string; total: string; digest: string }>(
          `SELECT count(*)::text AS n, sum(n)::text AS total, md5(string_agg(label, '|' ORDER BY label COLLATE "C")) AS digest
             FROM it_ak_heap`,
        )
      ).rows[0]!;
      assert.equal(out!.n, src.n, 'row count: the moved rows are not read twice');
      assert.equal(out!.keys, src.n);
      assert.equal(out!.total, src.total);
      assert.equal(out!.digest, src.digest);
    } finally {
      await holder.end();
    }
  });

  test('a run with consistency "snapshot" plans and exports a table without a key', async () => {
    const e = await exportTable('it_ak_heap', {
      consistency: 'snapshot',
      partitions: { count: 3, maxConcurrent: 2 },
    });
    assert.equal(e.plan.cursorKind, 'ctid');
    assert.equal(e.manifest.cursor, 'ctid');
    assert.equal(e.manifest.consistency.mode, 'snapshot');
    assert.equal(e.manifest.partitions.length, 3);
    const [out] = await queryParquet(
      e.paths,
      'SELECT count(*)::VARCHAR AS n, count(DISTINCT n)::VARCHAR AS keys, sum(n)::VARCHAR AS total FROM read_parquet($files)',
    );
    const src = (
      await db.query<{ n: string; total: string }>(
        'SELECT count(*)::text AS n, sum(n)::text AS total FROM it_ak_heap',
      )
    ).rows[0]!;
    assert.deepEqual(out, { n: src.n, keys: src.n, total: src.total });
  });

  test('without consistency "snapshot" a table without a key is refused, typed, before any work', async () => {
    for (const consistency of [null, 'partition']) {
      const run = await expectExportFailure(harness, {
        source: { table: 'it_ak_heap' },
        destination: `s3://${bucket()}/${uniquePrefix('ak-heap')}`,
        consistency,
      });
      assert.equal(run.failure.type, ErrorType.UnsupportedCursor, String(consistency));
      assert.equal(run.failure.nonRetryable, true);
      const details = run.failure.details?.[0] as { field?: string; accepted?: string };
      assert.equal(details.field, 'source.cursor');
      assert.match(details.accepted ?? '', /consistency/);
      assert.equal(scheduledActivities(run.history), 1, 'only planning ran');
    }
  });
});
