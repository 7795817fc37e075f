/**
 * `pg-parquet export --schema S [--include GLOB] [--exclude GLOB]` as a child process against the
 * real services and a worker process: exactly the matching tables are exported (each one's rows
 * read back with DuckDB, the independent reader, and compared with PostgreSQL), the JSON summary
 * and exit codes; a table that fails makes the command exit 1 without stopping the others, and
 * the same command with the same --run-key retries only that table. Types and fields, never text.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { ErrorType } from '../../src/contract/errors.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTablesResult } from '../../workflows/export-tables.js';
import { cliOn, json, progressLines } from '../support/cli-process.js';
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
import { queryParquet } from '../support/parquet-reader.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const taskQueue = `cli-schema-${randomUUID()}`;
const cli = cliOn(taskQueue);
/** Unique per run of this file: other engineers' tests share the database. */
const SCHEMA = `it_sched_s${randomUUID().slice(0, 8)}`;
const RETRY_SCHEMA = `${SCHEMA}_r`;

type Summary = ExportTablesResult & { readonly workflowId: string; readonly status: string };

describe('pg-parquet export --schema', () => {
  let worker: WorkerProcess;
  let db: pg.Client;
  let connection: Connection;
  let temporal: Client;

  before(async () => {
    stack();
    db = await database();
    await db.query(`CREATE SCHEMA ${SCHEMA};
      CREATE TABLE ${SCHEMA}.t_orders (id bigint PRIMARY KEY, amount numeric(10,2));
      INSERT INTO ${SCHEMA}.t_orders SELECT g, g * 1.5 FROM generate_series(1, 2500) g;
      CREATE TABLE ${SCHEMA}.t_users (id int PRIMARY KEY, name text);
      INSERT INTO ${SCHEMA}.t_users SELECT g, 'user ' || g FROM generate_series(1, 600) g;
      CREATE TABLE ${SCHEMA}.t_skip_me (id int PRIMARY KEY);
      INSERT INTO ${SCHEMA}.t_skip_me SELECT generate_series(1, 50);
      CREATE TABLE ${SCHEMA}.other (id int PRIMARY KEY);
      INSERT INTO ${SCHEMA}.other SELECT generate_series(1, 70);
      CREATE SCHEMA ${RETRY_SCHEMA};
      CREATE TABLE ${RETRY_SCHEMA}.a (id int PRIMARY KEY);
      INSERT INTO ${RETRY_SCHEMA}.a SELECT generate_series(1, 300);
      CREATE TABLE ${RETRY_SCHEMA}.b (id int PRIMARY KEY);
      INSERT INTO ${RETRY_SCHEMA}.b SELECT generate_series(1, 200);
      -- no primary key and no cursor given: PgParquetUnsupportedCursor
      CREATE TABLE ${RETRY_SCHEMA}.c_nokey (v text);
      INSERT INTO ${RETRY_SCHEMA}.c_nokey SELECT 'v' || g FROM generate_series(1, 40) g;`);
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
    temporal = new Client({ connection });
    worker = await startWorkerProcess(taskQueue);
  });
  after(async () => {
    await worker?.kill();
    await db?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; DROP SCHEMA IF EXISTS ${RETRY_SCHEMA} CASCADE`);
    await db?.end();
    await connection?.close();
  });

  async function manifestOf(url: string): Promise<Manifest> {
    const key = url.slice(`s3://${bucket()}/`.length);
    return JSON.parse(new TextDecoder().decode(await getObject(s3(), key))) as Manifest;
  }

  /** A table's exported rows, read with DuckDB from the files its manifest lists. */
  async function exported(prefix: string, manifestUrl: string) {
    const manifest = await manifestOf(manifestUrl);
    const paths = await download(
      s3(),
      manifest.files.map((f) => `${prefix}/${f.key}`),
    );
    const [r] = await queryParquet(
      paths,
      'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, sum(id)::VARCHAR AS s FROM read_parquet($files)',
    );
    return r;
  }

  async function source(table: string) {
    const r = await db.query<{ n: string; ids: string; s: string }>(
      `SELECT count(*)::text AS n, count(DISTINCT id)::text AS ids, sum(id)::text AS s FROM ${table}`,
    );
    return r.rows[0];
  }

  test('--include and --exclude: exactly the matching tables, every row once', async () => {
    const prefix = uniquePrefix('cli-schema');
    const r = cli([
      'export',
      '--schema',
      SCHEMA,
      '--include',
      't_*',
      '--exclude',
      't_skip*',
      '--to',
      `s3://${bucket()}/${prefix}`,
      '--partitions',
      '2',
      '--wait',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = json<Summary>(r.stdout);
    assert.equal(out.status, 'completed');
    assert.equal(out.workflowId, `pg-parquet/default/${SCHEMA}.*/${out.runKey}`);
    assert.deepEqual(
      out.tables.map((t) => t.table),
      [`${SCHEMA}.t_orders`, `${SCHEMA}.t_users`],
    );
    assert.equal(out.completed, 2);
    assert.equal(out.failed, 0);
    assert.equal(out.rows, 2500 + 600);
    for (const t of out.tables) {
      assert.equal(t.status, 'completed');
      assert.equal(t.workflowId, `pg-parquet/default/${t.table}/${out.runKey}`);
      assert.deepEqual(await exported(prefix, t.manifestUrl!), await source(t.table), t.table);
    }
    // Nothing of the other tables was written.
    const folders = new Set([...(await listObjects(s3(), prefix)).keys()].map((k) => k.split('/')[0]));
    assert.deepEqual([...folders].sort(), [`${SCHEMA}.t_orders`, `${SCHEMA}.t_users`]);
  });

  test('a failed table: exit 1, typed, the others complete; the same --run-key retries only it', async () => {
    const prefix = uniquePrefix('cli-schema-retry');
    const runKey = `it-${randomUUID().slice(0, 8)}`;
    const args = [
      'export',
      '--schema',
      RETRY_SCHEMA,
      '--to',
      `s3://${bucket()}/${prefix}`,
      '--run-key',
      runKey,
    ];
    const workflowId = `pg-parquet/default/${RETRY_SCHEMA}.*/${runKey}`;

    // Without --wait: started, and the id names the run.
    const started = cli([...args, '--json']);
    assert.equal(started.status, 0, started.stdout + started.stderr);
    assert.deepEqual(json(started.stdout), { workflowId, runKey, status: 'started' });
    await temporal.workflow.getHandle(workflowId).result();
    const first = cli(['status', workflowId, '--json']);
    assert.equal(first.status, 1, 'a run with a failed table is not a success');
    const s1 = json<{ workflowType: string; tables: { result: ExportTablesResult } }>(first.stdout);
    assert.equal(s1.workflowType, 'exportTables');
    const byName = new Map(s1.tables.result.tables.map((t) => [t.table.split('.')[1], t]));
    assert.equal(byName.get('c_nokey')!.status, 'failed');
    assert.equal(byName.get('c_nokey')!.failure!.type, ErrorType.UnsupportedCursor);
    assert.equal(byName.get('a')!.status, 'completed');
    assert.equal(byName.get('b')!.status, 'completed');

    // --wait --json of the same failing state: exit 1, status failed, the table's failure typed.
    const waited = cli([...args, '--wait', '--json']);
    assert.equal(waited.status, 1, waited.stdout + waited.stderr);
    const w = json<Summary>(waited.stdout);
    assert.equal(w.status, 'failed');
    assert.equal(w.failed, 1);
    assert.equal(w.skipped, 2, 'the finished tables are not exported again');

    // The table gets a cursor; the same command (no --json, not a terminal) retries only it.
    await db.query(`ALTER TABLE ${RETRY_SCHEMA}.c_nokey ADD COLUMN id bigserial PRIMARY KEY`);
    const again = cli([...args, '--wait', '--progress-interval', '0.5']);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    const lines = progressLines(again.stderr);
    assert.ok(lines.length >= 1, again.stderr);
    for (const l of lines) {
      assert.match(l.tables!, /^\d+\/\d+$/);
      assert.match(l.rows!, /^\d+$/);
    }
    const last = cli(['status', workflowId, '--json']);
    assert.equal(last.status, 0, last.stdout);
    const s2 = json<{ tables: { result: ExportTablesResult } }>(last.stdout).tables.result;
    assert.equal(s2.completed, 3);
    assert.equal(s2.failed, 0);
    assert.equal(s2.skipped, 2);
    const c = s2.tables.find((t) => t.table === `${RETRY_SCHEMA}.c_nokey`)!;
    assert.equal(c.skipped, false);
    assert.deepEqual(await exported(prefix, c.manifestUrl!), await source(`${RETRY_SCHEMA}.c_nokey`));
  });
});
