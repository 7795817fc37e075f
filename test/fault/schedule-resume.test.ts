/**
 * A scheduled run that loses its worker resumes when it is run again the way the Temporal UI's
 * "Start Workflow Like This One" does: a schedule made with the CLI is triggered on the real dev
 * server, the worker process is SIGKILLed mid-partition, the stuck run is terminated and started
 * again under the same workflow id with the same input (no schedule search attributes). The
 * re-run has the same runKey, keeps every batch stored before the kill, and the output holds
 * every row exactly once (DuckDB).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { EXPORT_WORKFLOW_TYPE } from '../../src/client.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { runKeyFromWorkflowId } from '../../workflows/run-key.js';
import { cliOn, json } from '../support/cli-process.js';
import { startSlowS3Proxy } from '../support/faulty-s3-proxy.js';
import { bucket, database, objectVersions, s3, stack, uniquePrefix } from '../support/fixtures.js';
import { assertEveryRowOnce } from '../support/run-output.js';
import { waitFor, WorkerFleet } from '../support/worker-process.js';

const ROWS = 300_000;
const BATCH_ROWS = 10_000;
const TABLE = 'public.it_sched_kill';
/** The PUT of a stored batch. */
const BATCH_PUT = /\/_raw\/part=\d+\/batch=\d+\.parquet/;

describe('a scheduled run killed mid-run and started again like the UI does', () => {
  let db: pg.Client;
  let storage: S3Client;
  let fleet: WorkerFleet;
  const taskQueue = `fault-sched-${randomUUID()}`;
  const cli = cliOn(taskQueue);
  const scheduleId = `it-sched-kill-${randomUUID()}`;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_sched_kill;
      CREATE TABLE it_sched_kill (id bigint PRIMARY KEY, label text, amount numeric(12,2));
      INSERT INTO it_sched_kill SELECT g, 'label ' || md5(g::text), g / 100.0 FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_sched_kill;`);
    storage = s3();
    fleet = await WorkerFleet.connect();
  });
  after(async () => {
    await fleet?.client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    await fleet?.close();
    await db?.end();
  });

  test('same runKey, resumed after the stored batches, every row once', { timeout: 240_000 }, async (t) => {
    const client = fleet.client;
    const prefix = uniquePrefix('sched-kill');
    // One partition, small batches, raw files kept: the batches stored before the kill can be
    // compared with the ones after it.
    const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-sched-kill-'));
    const inputFile = join(dir, 'run.json');
    writeFileSync(
      inputFile,
      JSON.stringify({
        source: { table: TABLE },
        partitions: { count: 1 },
        batch: { rows: BATCH_ROWS },
        compaction: { keepRaw: true },
      }),
    );
    const created = cli([
      'schedule',
      'create',
      '--input',
      inputFile,
      '--to',
      `s3://${bucket()}/${prefix}`,
      '--cron',
      '0 0 1 1 *',
      '--schedule-id',
      scheduleId,
      '--json',
    ]);
    assert.equal(created.status, 0, created.stdout + created.stderr);

    // The first worker stores through a proxy that slows batch PUTs after the third, so that the
    // kill lands mid-partition however fast the machine is.
    const slow = await startSlowS3Proxy({ path: BATCH_PUT, ms: 500, after: 3 });
    t.after(() => slow.close());
    const first = await fleet.worker(taskQueue, { AWS_ENDPOINT_URL_S3: slow.url });

    const triggered = cli(['schedule', 'trigger', scheduleId, '--json']);
    assert.equal(triggered.status, 0, triggered.stdout + triggered.stderr);
    const run = json<{ status: string; workflowId: string; runKey: string }>(triggered.stdout);
    assert.equal(run.status, 'started');
    assert.equal(run.runKey, runKeyFromWorkflowId(run.workflowId));

    const raw = async () =>
      new Map(
        [...(await objectVersions(storage, prefix))].filter(([k]) =>
          /\/_raw\/part=\d+\/batch=\d+\.parquet$/.test(k),
        ),
      );
    await waitFor('3 stored batches', async () => (await raw()).size >= 3);
    await first.kill();
    slow.speedUp();
    const before = await raw();
    assert.ok(before.size < ROWS / BATCH_ROWS, 'the partition was not finished when the worker died');

    // The run is stuck (its worker is gone). Terminate it and start it again as the UI does:
    // the same id, type, task queue and input, none of the schedule's search attributes.
    const handle = client.workflow.getHandle(run.workflowId);
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('test: its worker was killed');
    const d = cli(['schedule', 'describe', scheduleId, '--json']);
    assert.equal(d.status, 0, d.stderr);
    const schedule = json<{
      taskQueue: string;
      input: unknown;
      recentRuns: { workflowId: string; status: string }[];
    }>(d.stdout);
    assert.equal(schedule.recentRuns[0]!.workflowId, run.workflowId);
    assert.equal(schedule.recentRuns[0]!.status, 'TERMINATED');
    const again = await client.workflow.start(EXPORT_WORKFLOW_TYPE, {
      workflowId: run.workflowId,
      taskQueue: schedule.taskQueue,
      args: [schedule.input],
    });
    await fleet.worker(taskQueue);
    const result = (await again.result()) as ExportTableResult;

    assert.equal(result.runKey, run.runKey, 'the same runKey as the scheduled run');
    assert.equal(result.rows, ROWS);
    await assertEveryRowOnce({ db, storage, prefix, table: TABLE, runKey: run.runKey, sumColumn: 'amount' });
    const after = await raw();
    for (const [key, version] of before) assert.equal(after.get(key), version, `${key} was not rewritten`);
    assert.equal(after.size, ROWS / BATCH_ROWS);

    // The CLI reports the re-run under the scheduled run's id and runKey.
    const s = cli(['status', run.workflowId, '--json']);
    assert.equal(s.status, 0, s.stdout + s.stderr);
    const status = json<{ status: string; runKey: string; result: { rows: number } }>(s.stdout);
    assert.equal(status.status, 'COMPLETED');
    assert.equal(status.runKey, run.runKey);
    assert.equal(status.result.rows, ROWS);
  });
});
