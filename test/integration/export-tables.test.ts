/**
 * `exportTables` over a whole schema against the real services: one child exportTable per table,
 * a table without a usable cursor fails typed without stopping the others, and a re-run of the
 * parent skips the finished tables and retries the failed one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { EXPORT_TABLES_WORKFLOW_TYPE, startExportTables } from '../../src/client.js';
import { ErrorType } from '../../src/contract/errors.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTablesResult } from '../../workflows/export-tables.js';
import { exportWorkflowId } from '../../workflows/run-key.js';
import { queryParquet } from '../support/parquet-reader.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { bucket, database, download, getObject, s3, stack, uniquePrefix } from '../support/fixtures.js';

const SCHEMA = 'it_tables';
const GOOD = ['t_days', 't_events', 't_orders', 't_users'];
const NO_CURSOR = 't_nokey';

describe('exportTables over a schema', () => {
  let harness: TemporalHarness;
  let db: pg.Client;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA};
      CREATE TABLE ${SCHEMA}.t_orders (id bigint PRIMARY KEY, amount numeric(10,2), at timestamptz);
      INSERT INTO ${SCHEMA}.t_orders SELECT g, g * 1.25, '2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 3000) g;
      CREATE TABLE ${SCHEMA}.t_users (id int PRIMARY KEY, name text);
      INSERT INTO ${SCHEMA}.t_users SELECT g, 'user ' || g FROM generate_series(1, 700) g;
      CREATE TABLE ${SCHEMA}.t_events (id bigint PRIMARY KEY, payload jsonb);
      INSERT INTO ${SCHEMA}.t_events SELECT g, jsonb_build_object('n', g) FROM generate_series(1, 1200) g;
      CREATE TABLE ${SCHEMA}.t_days (day date PRIMARY KEY, n int);
      INSERT INTO ${SCHEMA}.t_days SELECT d::date, extract(doy FROM d)::int FROM generate_series('2025-01-01'::date, '2025-12-31', '1 day') d;
      -- no primary key, and no cursor given: PgParquetUnsupportedCursor
      CREATE TABLE ${SCHEMA}.${NO_CURSOR} (label text, v float8);
      INSERT INTO ${SCHEMA}.${NO_CURSOR} SELECT 'l' || g, g / 3.0 FROM generate_series(1, 400) g;
      CREATE TABLE ${SCHEMA}.skip_me (id int PRIMARY KEY);`);
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
    await db?.end();
  });

  async function count(table: string): Promise<number> {
    const r = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${SCHEMA}.${table}`);
    return Number(r.rows[0]!.n);
  }

  async function manifestOf(url: string): Promise<Manifest> {
    const key = url.slice(`s3://${bucket()}/`.length);
    return JSON.parse(new TextDecoder().decode(await getObject(s3(), key))) as Manifest;
  }

  /** Child workflows a run of the parent started, from its history. */
  async function childrenStarted(workflowId: string, runId: string): Promise<string[]> {
    const history = await harness.client.workflow.getHandle(workflowId, runId).fetchHistory();
    return (history.events ?? [])
      .map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId)
      .filter((id): id is string => typeof id === 'string');
  }

  test('four tables complete, the one without a cursor fails typed; a re-run skips the four', async () => {
    const prefix = uniquePrefix('tables');
    const runKey = `it-${randomUUID().slice(0, 8)}`;
    const input = {
      source: { schema: SCHEMA, exclude: ['skip_*'] },
      destination: `s3://${bucket()}/${prefix}`,
      runKey,
      partitions: { count: 2 },
      tables: { maxConcurrent: 2 },
    };
    const started = await startExportTables(harness.client, input, { taskQueue: harness.taskQueue });
    assert.equal(started.workflowId, `pg-parquet/default/${SCHEMA}.*/${runKey}`);
    const first = (await started.handle.result()) as ExportTablesResult;

    assert.equal(first.runKey, runKey);
    assert.deepEqual(
      first.tables.map((t) => t.table),
      [...GOOD, NO_CURSOR].sort().map((t) => `${SCHEMA}.${t}`),
    );
    assert.equal(first.completed, 4);
    assert.equal(first.failed, 1);
    assert.equal(first.skipped, 0);
    for (const t of first.tables) {
      assert.equal(t.workflowId, exportWorkflowId('default', t.table, runKey));
      const name = t.table.slice(SCHEMA.length + 1);
      if (name === NO_CURSOR) {
        assert.equal(t.status, 'failed');
        assert.equal(t.failure?.type, ErrorType.UnsupportedCursor);
        assert.equal(t.manifestUrl, null);
        continue;
      }
      assert.equal(t.status, 'completed', `${t.table}: ${JSON.stringify(t.failure)}`);
      const manifest = await manifestOf(t.manifestUrl!);
      const n = await count(name);
      assert.equal(manifest.totals.rows, n, `${t.table}: manifest rows = count(*)`);
      assert.equal(t.rows, n);
    }
    // One table read back with DuckDB, an independent reader.
    const orders = await manifestOf(first.tables.find((t) => t.table === `${SCHEMA}.t_orders`)!.manifestUrl!);
    const paths = await download(
      s3(),
      orders.files.map((f) => `${prefix}/${f.key}`),
    );
    const [duck] = await queryParquet(
      paths,
      `SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, sum(id)::VARCHAR AS s,
              sum(amount)::VARCHAR AS amount FROM read_parquet($files)`,
    );
    const pgSums = await db.query<{ s: string; amount: string }>(
      `SELECT sum(id)::text AS s, sum(amount)::text AS amount FROM ${SCHEMA}.t_orders`,
    );
    assert.deepEqual(duck, { n: '3000', ids: '3000', s: pgSums.rows[0]!.s, amount: pgSums.rows[0]!.amount });

    // The fifth table gets a usable cursor; the parent runs again under the same id.
    await db.query(`ALTER TABLE ${SCHEMA}.${NO_CURSOR} ADD COLUMN id bigserial PRIMARY KEY`);
    const again = await harness.client.workflow.start(EXPORT_TABLES_WORKFLOW_TYPE, {
      workflowId: started.workflowId,
      taskQueue: harness.taskQueue,
      args: [started.input],
    });
    const second = (await again.result()) as ExportTablesResult;
    assert.equal(second.completed, 5);
    assert.equal(second.failed, 0);
    assert.equal(second.skipped, 4);
    for (const t of second.tables) {
      const name = t.table.slice(SCHEMA.length + 1);
      assert.equal(t.skipped, name !== NO_CURSOR, t.table);
      assert.equal(t.rows, await count(name));
    }
    // Only the fifth table's child ran again.
    assert.deepEqual(await childrenStarted(again.workflowId, again.firstExecutionRunId), [
      exportWorkflowId('default', `${SCHEMA}.${NO_CURSOR}`, runKey),
    ]);
  });

  test('tables.sharedSnapshot: every table reads one snapshot, so rows moved between tables count once', async () => {
    const rows = 20_000;
    await db.query(`DROP SCHEMA IF EXISTS it_shared CASCADE; CREATE SCHEMA it_shared;
      CREATE TABLE it_shared.a (id bigint PRIMARY KEY); CREATE TABLE it_shared.b (id bigint PRIMARY KEY);
      INSERT INTO it_shared.a SELECT g FROM generate_series(1, ${rows}) g;`);
    // Moves rows from a to b, one transaction at a time, until stopped: at any one moment a and b
    // hold `rows` rows together, but two moments apart they do not.
    let moving = true;
    let moves = 0;
    const mover = (async () => {
      const m = await database();
      try {
        while (moving) {
          await m.query(`WITH moved AS (DELETE FROM it_shared.a WHERE id IN (SELECT id FROM it_shared.a ORDER BY id LIMIT 5) RETURNING id)
            INSERT INTO it_shared.b SELECT id FROM moved`);
          moves++;
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        await m.end();
      }
    })();
    try {
      const prefix = uniquePrefix('shared');
      const started = await startExportTables(
        harness.client,
        {
          source: { schema: 'it_shared' },
          destination: `s3://${bucket()}/${prefix}`,
          partitions: { count: 2 },
          batch: { rows: 1_000 },
          // One table after the other: the mover commits between their reads.
          tables: { maxConcurrent: 1, sharedSnapshot: true },
        },
        { taskQueue: harness.taskQueue },
      );
      const movesAtStart = moves;
      const result = (await started.handle.result()) as ExportTablesResult;
      assert.ok(moves - movesAtStart > 5, `${moves - movesAtStart} moves during the run`);
      assert.equal(result.completed, 2, JSON.stringify(result.tables));
      const manifests = await Promise.all(result.tables.map((t) => manifestOf(t.manifestUrl!)));
      const ids = new Set(
        manifests.map((m) => (m.consistency.mode === 'snapshot' ? m.consistency.snapshotId : null)),
      );
      assert.equal(
        ids.size,
        1,
        `both tables state the same snapshot: ${JSON.stringify(manifests.map((m) => m.consistency))}`,
      );
      assert.ok(!ids.has(null));
      assert.equal(manifests[0]!.totals.rows + manifests[1]!.totals.rows, rows, 'a + b as of one moment');
      const paths = await download(
        s3(),
        manifests.flatMap((m) => m.files.map((f) => `${prefix}/${f.key}`)),
      );
      const [duck] = await queryParquet(
        paths,
        'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids FROM read_parquet($files)',
      );
      assert.deepEqual(duck, { n: String(rows), ids: String(rows) }, 'every id once, in a or in b');
    } finally {
      moving = false;
      await mover;
    }
  });

  test('bad input and a missing schema fail the parent typed, naming the field', async () => {
    const fail = async (input: unknown): Promise<ApplicationFailure> => {
      const err = await harness.client.workflow
        .execute(EXPORT_TABLES_WORKFLOW_TYPE, {
          taskQueue: harness.taskQueue,
          workflowId: `it-tables-${randomUUID()}`,
          args: [input],
        })
        .then(
          () => assert.fail('should fail'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
      return err.cause;
    };
    const destination = `s3://${bucket()}/${uniquePrefix('tables-bad')}`;
    const both = await fail({ source: { schema: SCHEMA, tables: ['a'] }, destination });
    assert.equal(both.type, ErrorType.InvalidInput);
    assert.equal((both.details?.[0] as { field?: string }).field, 'source.tables');
    const conc = await fail({ source: { schema: SCHEMA }, destination, tables: { maxConcurrent: 0 } });
    assert.equal((conc.details?.[0] as { field?: string }).field, 'tables.maxConcurrent');
    const missing = await fail({ source: { schema: 'it_no_such_schema' }, destination });
    assert.equal(missing.type, ErrorType.TableNotFound);
    assert.equal((missing.details?.[0] as { field?: string }).field, 'source.schema');
  });
});
