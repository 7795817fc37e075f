/** The `pg-parquet` CLI against the real stack: export --wait --json, status, and exit codes. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { bucket, database, stack, uniquePrefix } from '../support/fixtures.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const taskQueue = `cli-${randomUUID()}`;
let worker: WorkerProcess;
let db: pg.Client;

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PG_PARQUET_TASK_QUEUE: taskQueue },
    timeout: 120_000,
  });
}

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_cli; CREATE TABLE it_cli (id int PRIMARY KEY, v text);
                  INSERT INTO it_cli SELECT g, 'v' || g FROM generate_series(1, 1234) g;`);
  worker = await startWorkerProcess(taskQueue);
});
after(async () => {
  await worker?.kill();
  await db?.end();
});

test('export --wait --json prints one JSON summary and exits 0; status reports it', () => {
  const runKey = `cli-${randomUUID().slice(0, 8)}`;
  const r = cli(
    'export',
    'public.it_cli',
    '--to',
    `s3://${bucket()}/${uniquePrefix('cli')}`,
    '--run-key',
    runKey,
    '--partitions',
    '2',
    '--wait',
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: string; rows: number; workflowId: string; runKey: string };
  assert.equal(out.status, 'completed');
  assert.equal(out.rows, 1234);
  assert.equal(out.workflowId, `pg-parquet/default/public.it_cli/${runKey}`);
  const s = cli('status', out.workflowId, '--json');
  assert.equal(s.status, 0, s.stderr);
  const status = JSON.parse(s.stdout) as { status: string; progress: { phase: string; rows: number } };
  assert.equal(status.status, 'COMPLETED');
  assert.equal(status.progress.phase, 'done');
});

test('a failed export exits non-zero with the error type', () => {
  const r = cli(
    'export',
    'public.no_such_table',
    '--to',
    `s3://${bucket()}/${uniquePrefix('cli')}`,
    '--wait',
    '--json',
  );
  assert.notEqual(r.status, 0);
  const out = JSON.parse(r.stdout) as { status: string; error: { type: string } };
  assert.equal(out.status, 'failed');
  assert.equal(out.error.type, 'PgParquetTableNotFound');
});

test('bad flags are refused before anything starts', () => {
  const r = cli('export', 'public.it_cli', '--to', 'ftp://nowhere', '--json');
  assert.notEqual(r.status, 0);
  const out = JSON.parse(r.stdout) as { error: { type: string } };
  assert.equal(out.error.type, 'PgParquetInvalidDestination');
});
