/**
 * A whole export as the least-privileged role the README recommends: LOGIN, SELECT on the one
 * exported table, no superuser, no pg_signal_backend / pg_read_server_files /
 * pg_write_server_files. The worker is a separate process that reaches the database through a
 * named connection (PG_PARQUET_CONNECTION_LP, a DSN with the role's password); the CLI starts the
 * runs and waits. Checks: the run's snapshot is exported and used, planning balances on pg_stats
 * (which shows the role the columns it may read) and on a sample under a filter, a time-relative
 * `where` is bound once at planning (stored in the plan) and the rows DuckDB reads back are
 * exactly the source rows it selects. Then the no-secret check: the role's password, the DSN and
 * the S3 secret are in no decoded payload of the history, nor in the worker's or the CLI's output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { ErrorType } from '../../src/contract/errors.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { RunPlan } from '../../src/run/run-plan.js';
import { cliOn, json } from '../support/cli-process.js';
import { decodedText } from '../support/history-text.js';
import { queryParquet } from '../support/parquet-reader.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { bucket, database, download, getObject, s3, stack, uniquePrefix } from '../support/fixtures.js';

const TABLE = 'it_lp';
const OTHER = 'it_lp_other';
const ROLE = `it_lp_${randomUUID().slice(0, 8)}`;
const PASSWORD = `pw-${randomUUID()}`;
const ROWS = 20_000;

describe('an export as a least-privileged role (SELECT on one table, no superuser)', () => {
  let db: pg.Client;
  let worker: WorkerProcess;
  let temporal: Client;
  let connection: Connection;
  let dsn: string;
  const taskQueue = `test-lp-${randomUUID()}`;
  const cli = cliOn(taskQueue, 180_000);
  const work = mkdtempSync(join(tmpdir(), 'pg-parquet-lp-'));
  const outputs: string[] = [];
  const workflowIds: string[] = [];

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS ${TABLE}, ${OTHER};
      CREATE TABLE ${TABLE} (id int PRIMARY KEY, label text NOT NULL, ts timestamptz NOT NULL);
      INSERT INTO ${TABLE} SELECT g, 'l' || g, now() - make_interval(mins => g) FROM generate_series(1, ${ROWS}) g;
      CREATE TABLE ${OTHER} (id int PRIMARY KEY, v text); INSERT INTO ${OTHER} VALUES (1, 'not for this role');
      ANALYZE ${TABLE};
      CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
      GRANT SELECT ON ${TABLE} TO ${ROLE};`);
    const url = new URL(process.env.DATABASE_URL!);
    url.username = ROLE;
    url.password = PASSWORD;
    dsn = url.href;
    worker = await startWorkerProcess(taskQueue, { PG_PARQUET_CONNECTION_LP: dsn });
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
    temporal = new Client({ connection });
  });

  after(async () => {
    await worker?.kill();
    await connection?.close();
    await db?.query(`DROP TABLE IF EXISTS ${TABLE}, ${OTHER}; DROP ROLE IF EXISTS ${ROLE}`);
    await db?.end();
    rmSync(work, { recursive: true, force: true });
  });

  test('the role is least-privileged: no superuser, no server-file or signal roles, no other table', async () => {
    const r = await db.query<{ rolsuper: boolean; member: boolean }>(
      `SELECT rolsuper, pg_has_role($1, 'pg_signal_backend', 'MEMBER') OR pg_has_role($1, 'pg_write_server_files', 'MEMBER')
              OR pg_has_role($1, 'pg_read_server_files', 'MEMBER') AS member FROM pg_roles WHERE rolname = $1`,
      [ROLE],
    );
    assert.deepEqual(r.rows, [{ rolsuper: false, member: false }]);
    const as = new pg.Client({ connectionString: dsn });
    await as.connect();
    try {
      await assert.rejects(as.query(`SELECT * FROM ${OTHER}`), { code: '42501' });
      // What planning reads of the statistics: the role sees the histogram of a table it may read.
      const stats = await as.query(`SELECT 1 FROM pg_stats WHERE tablename = $1 AND attname = 'id'`, [TABLE]);
      assert.equal(stats.rowCount, 1);
    } finally {
      await as.end();
    }
  });

  /** Runs `pg-parquet export` with `input` as --input; returns the summary and the manifest. */
  async function exportAs(input: Record<string, unknown>, runKey: string) {
    const file = join(work, `${runKey}.json`);
    writeFileSync(file, JSON.stringify(input));
    const r = cli(['export', `public.${TABLE}`, '--input', file, '--run-key', runKey, '--wait', '--json']);
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const out = json<{ status: string; rows: number; workflowId: string; manifestUrl: string }>(r.stdout);
    workflowIds.push(out.workflowId);
    const destination = input.destination as string;
    const prefix = new URL(destination).pathname.slice(1);
    const runFolder = `${prefix}/public.${TABLE}/run=${runKey}`;
    const read = async <T>(key: string) =>
      JSON.parse(new TextDecoder().decode(await getObject(s3(), `${runFolder}/${key}`))) as T;
    const manifest = await read<Manifest>('_manifest.json');
    const plan = await read<RunPlan>('_plan.json');
    const files = await download(
      s3(),
      manifest.files.map((f) => `${prefix}/${f.key}`),
    );
    const rows = await queryParquet(files, 'SELECT id, label FROM read_parquet($files) ORDER BY id');
    return { out, manifest, plan, rows };
  }

  const sourceRows = async (filter: string) =>
    (
      await db.query<{ id: number; label: string }>(
        `SELECT id, label FROM ${TABLE} WHERE ${filter} ORDER BY id`,
      )
    ).rows;

  test('a whole export: snapshot, pg_stats balancing, every row read back by DuckDB', async () => {
    const destination = `s3://${bucket()}/${uniquePrefix('lp')}`;
    const { out, manifest, plan, rows } = await exportAs(
      { source: { connection: 'lp', table: `public.${TABLE}` }, destination, partitions: { count: 4 } },
      'lp-full',
    );
    assert.equal(out.rows, ROWS);
    assert.equal(manifest.consistency.mode, 'snapshot');
    assert.equal(plan.balance, 'pg_stats');
    assert.deepEqual(rows, await sourceRows('true'));
  });

  test('a time-relative where is bound once at planning: every partition and the source check see one value', async () => {
    const destination = `s3://${bucket()}/${uniquePrefix('lp-where')}`;
    // Rows every 100 ms just inside the filter's edge: a filter evaluated again later (per
    // partition, at the source check) would lose some of them.
    await db.query(`INSERT INTO ${TABLE} SELECT ${ROWS} + k, 'l' || (${ROWS} + k),
      now() - interval '1 day' + k * interval '100 ms' FROM generate_series(1, 600) k`);
    const before = (await db.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t;
    const where = "ts > now() - interval '1 day' AND label LIKE 'l%'";
    const { plan, rows } = await exportAs(
      {
        source: { connection: 'lp', table: `public.${TABLE}`, where },
        destination,
        partitions: { count: 3 },
        verify: 'source',
      },
      'lp-where',
    );
    const after = (await db.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t;
    assert.equal(plan.where, where);
    assert.equal(plan.balance, 'sample');
    assert.ok(plan.whereSql && !/now\(\)/i.test(plan.whereSql), `bound: ${plan.whereSql}`);
    const literal = /'(\d{4}-\d\d-\d\dT[\d:.]+Z)'/.exec(plan.whereSql)?.[1];
    assert.ok(literal, 'the planning time is a literal of the stored filter');
    const bound = new Date(literal);
    assert.ok(bound >= new Date(before.getTime() - 1) && bound <= after, 'bound while the run planned');
    const expected = await sourceRows(`ts > '${literal}'::timestamptz - interval '1 day'`);
    assert.ok(expected.length > 1000 && expected.length < ROWS);
    assert.deepEqual(rows, expected);
    const edge = await db.query(
      `SELECT 1 FROM ${TABLE} WHERE ts > $1::timestamptz - interval '1 day' AND ts <= $2::timestamptz - interval '1 day'`,
      [literal, after],
    );
    assert.ok(
      edge.rowCount! > 0,
      'exported rows that a filter evaluated when the run ended would have left out',
    );
  });

  test('the worker reads as the role: a table without its SELECT fails typed (SourceError)', () => {
    const file = join(work, 'other.json');
    const destination = `s3://${bucket()}/${uniquePrefix('lp-other')}`;
    writeFileSync(file, JSON.stringify({ source: { connection: 'lp', table: `public.${OTHER}` } }));
    const r = cli(['export', `public.${OTHER}`, '--to', destination, '--input', file, '--wait', '--json']);
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.status, 1, r.stderr);
    const out = json<{ status: string; workflowId: string; error: { type: string } }>(r.stdout);
    workflowIds.push(out.workflowId);
    assert.equal(out.status, 'failed');
    // Permission denied (42501) reading the table: PostgreSQL refuses the role, not a retry later.
    assert.equal(out.error.type, ErrorType.SourceError);
  });

  test('no secret in any decoded payload of the histories, nor in the worker or CLI output', async () => {
    assert.equal(workflowIds.length, 3, 'every run ran');
    const secrets = [
      PASSWORD,
      dsn,
      process.env.AWS_SECRET_ACCESS_KEY!,
      new URL(process.env.DATABASE_URL!).password,
      'postgres://',
      'postgresql://',
    ].filter((s) => s.length > 3);
    for (const id of workflowIds) {
      const { text, payloads } = decodedText(await temporal.workflow.getHandle(id).fetchHistory());
      assert.ok(payloads > 0, `the history's payloads were decoded (${payloads})`);
      assert.ok(text.includes('"connection":"lp"'), 'the input is there, naming the connection');
      for (const s of secrets) assert.ok(!text.includes(s), `history of ${id} holds ${s.slice(0, 3)}…`);
    }
    const printed = [...outputs, worker.output()].join('\n');
    assert.ok(printed.length > 0);
    for (const s of secrets) assert.ok(!printed.includes(s), `output holds ${s.slice(0, 3)}…`);
  });
});
