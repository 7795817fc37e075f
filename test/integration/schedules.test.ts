/**
 * Schedules against the real dev server: every run a schedule starts takes its runKey from the
 * time suffix the server appends to its workflow id, so a failed run started again under that id
 * resumes the same run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  EXPORT_TABLES_WORKFLOW_TYPE,
  EXPORT_WORKFLOW_TYPE,
  scheduleExport,
  scheduleExportTables,
} from '../../src/client.js';
import { ErrorType } from '../../src/contract/errors.js';
import {
  backfillExportSchedule,
  deleteExportSchedule,
  describeExportSchedule,
  listExportSchedules,
  pauseExportSchedule,
  triggerExportSchedule,
  unpauseExportSchedule,
  type ExportSchedule,
  type ScheduledRun,
} from '../../src/schedules.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import type { ExportTablesResult } from '../../workflows/export-tables.js';
import {
  exportScheduleWorkflowId,
  exportWorkflowId,
  runKeyFromTime,
  runKeyFromWorkflowId,
} from '../../workflows/run-key.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { waitFor } from '../support/worker-process.js';
import { bucket, database, s3, stack, uniquePrefix } from '../support/fixtures.js';

const YEARLY = ['0 0 1 1 *'];

describe('export schedules', () => {
  let harness: TemporalHarness;
  let db: pg.Client;
  const schedules: string[] = [];

  before(async () => {
    stack();
    db = await database();
    for (const t of ['it_sched_a', 'it_sched_b']) {
      await db.query(`DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} (id int PRIMARY KEY, label text);
                      INSERT INTO ${t} SELECT g, 'l' || g FROM generate_series(1, 500) g;`);
    }
    await db.query('DROP TABLE IF EXISTS it_sched_late');
    harness = await startHarness();
  });
  after(async () => {
    for (const id of schedules) await deleteExportSchedule(harness.client, id).catch(() => undefined);
    await harness?.close();
    await db?.end();
  });

  async function create(table: string, extra: { pauseOnFailure?: boolean } = {}) {
    const scheduleId = `it-sched-${randomUUID()}`;
    const prefix = uniquePrefix('sched');
    await scheduleExport(
      harness.client,
      { source: { table }, destination: `s3://${bucket()}/${prefix}`, partitions: { count: 2 } },
      { scheduleId, cron: YEARLY, taskQueue: harness.taskQueue, ...extra },
    );
    schedules.push(scheduleId);
    return { scheduleId, prefix };
  }

  /** Waits until the schedule has started `n` runs. */
  async function runsOf(scheduleId: string, n: number): Promise<ScheduledRun[]> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const d = await describeExportSchedule(harness.client, scheduleId);
      if (d.recentRuns.length >= n) return [...d.recentRuns];
      if (Date.now() > deadline)
        assert.fail(`schedule ${scheduleId} started ${d.recentRuns.length} of ${n} runs`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function hasSuccess(prefix: string, table: string, runKey: string): Promise<boolean> {
    try {
      await s3().send(
        new HeadObjectCommand({ Bucket: bucket(), Key: `${prefix}/${table}/run=${runKey}/_SUCCESS` }),
      );
      return true;
    } catch {
      return false;
    }
  }

  test('a triggered run exports under its scheduled time; list, pause, unpause, delete', async () => {
    const { scheduleId, prefix } = await create('it_sched_a');
    // The list comes from the visibility store: it may take a moment to show a new schedule.
    let listed: ExportSchedule | undefined;
    await waitFor(
      'the schedule in the list',
      async () => {
        listed = (await listExportSchedules(harness.client)).find((s) => s.scheduleId === scheduleId);
        return listed !== undefined;
      },
      30_000,
    );
    assert.equal(listed?.workflowType, EXPORT_WORKFLOW_TYPE);
    const before = await describeExportSchedule(harness.client, scheduleId);
    assert.equal(before.workflowIdBase, exportScheduleWorkflowId('default', 'public.it_sched_a'));
    assert.equal(before.overlap, 'SKIP');
    assert.equal(before.pauseOnFailure, false);
    assert.equal(before.catchupWindowMs, 24 * 3600 * 1000);

    await triggerExportSchedule(harness.client, scheduleId);
    const [run] = await runsOf(scheduleId, 1);
    assert.ok(run!.workflowId.startsWith(`${before.workflowIdBase}-`), run!.workflowId);
    const expected = runKeyFromTime(run!.scheduledAt);
    assert.equal(run!.runKey, expected);
    const result = await harness.client.workflow.getHandle(run!.workflowId).result();
    assert.equal((result as ExportTableResult).runKey, expected);
    assert.equal((result as ExportTableResult).rows, 500);
    assert.ok(await hasSuccess(prefix, 'public.it_sched_a', expected));

    await pauseExportSchedule(harness.client, scheduleId, 'maintenance');
    const paused = await describeExportSchedule(harness.client, scheduleId);
    assert.equal(paused.paused, true);
    assert.equal(paused.note, 'maintenance');
    await unpauseExportSchedule(harness.client, scheduleId);
    assert.equal((await describeExportSchedule(harness.client, scheduleId)).paused, false);
    await deleteExportSchedule(harness.client, scheduleId);
    await assert.rejects(describeExportSchedule(harness.client, scheduleId), ScheduleNotFoundError);
  });

  test('a backfill over three past times makes three runs with those runKeys', async () => {
    const { scheduleId, prefix } = await create('it_sched_b');
    await backfillExportSchedule(harness.client, scheduleId, {
      start: new Date('2022-01-01T00:00:00Z'),
      end: new Date('2024-01-01T00:00:00Z'),
    });
    const runs = await runsOf(scheduleId, 3);
    const keys = ['20240101T000000Z', '20230101T000000Z', '20220101T000000Z'];
    assert.deepEqual(
      runs.map((r) => r.runKey),
      keys,
    );
    for (const r of runs) {
      const result = (await harness.client.workflow.getHandle(r.workflowId).result()) as ExportTableResult;
      assert.equal(result.runKey, r.runKey);
      assert.equal(result.rows, 500);
      assert.ok(await hasSuccess(prefix, 'public.it_sched_b', r.runKey!));
    }
  });

  test('a failed scheduled run started again under its id resumes with the same runKey', async () => {
    // The table does not exist yet: the scheduled run fails, typed.
    const { scheduleId, prefix } = await create('it_sched_late', { pauseOnFailure: true });
    await triggerExportSchedule(harness.client, scheduleId);
    const [run] = await runsOf(scheduleId, 1);
    const err = await harness.client.workflow
      .getHandle(run!.workflowId)
      .result()
      .then(
        () => assert.fail('the run should fail'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
    assert.equal(err.cause.type, ErrorType.TableNotFound);
    // The policy is passed through (the server applies it to runs the spec starts, not to triggers).
    assert.equal((await describeExportSchedule(harness.client, scheduleId)).pauseOnFailure, true);

    await db.query(`CREATE TABLE it_sched_late (id bigint PRIMARY KEY, v text);
                    INSERT INTO it_sched_late SELECT g, 'v' || g FROM generate_series(1, 300) g;`);
    // Later than the scheduled second, so a runKey from the start time would differ.
    await new Promise((r) => setTimeout(r, 1100));
    // What the UI's "start workflow like this one" does: same id, type, task queue and input,
    // and none of the schedule's search attributes.
    const described = await describeExportSchedule(harness.client, scheduleId);
    const again = await harness.client.workflow.start(EXPORT_WORKFLOW_TYPE, {
      workflowId: run!.workflowId,
      taskQueue: described.taskQueue,
      args: [described.input],
    });
    const result = (await again.result()) as ExportTableResult;
    assert.equal(result.runKey, runKeyFromTime(run!.scheduledAt));
    assert.equal(result.runKey, runKeyFromWorkflowId(run!.workflowId));
    assert.equal(result.rows, 300);
    assert.ok(await hasSuccess(prefix, 'public.it_sched_late', result.runKey));
  });

  test('a scheduled exportTables run gives its scheduled time to every child', async () => {
    const scheduleId = `it-sched-${randomUUID()}`;
    const prefix = uniquePrefix('sched-tables');
    await scheduleExportTables(
      harness.client,
      { source: { tables: ['it_sched_a', 'it_sched_b'] }, destination: `s3://${bucket()}/${prefix}` },
      { scheduleId, cron: YEARLY, taskQueue: harness.taskQueue },
    );
    schedules.push(scheduleId);
    const d = await describeExportSchedule(harness.client, scheduleId);
    assert.equal(d.workflowType, EXPORT_TABLES_WORKFLOW_TYPE);
    assert.equal(d.workflowIdBase, 'pg-parquet/default/tables');
    await triggerExportSchedule(harness.client, scheduleId);
    const [run] = await runsOf(scheduleId, 1);
    const result = (await harness.client.workflow.getHandle(run!.workflowId).result()) as ExportTablesResult;
    const runKey = runKeyFromTime(run!.scheduledAt);
    assert.equal(result.runKey, runKey);
    assert.equal(result.completed, 2);
    for (const t of result.tables) {
      assert.equal(t.workflowId, exportWorkflowId('default', t.table, runKey));
      assert.ok(await hasSuccess(prefix, t.table, runKey));
    }
  });
});
