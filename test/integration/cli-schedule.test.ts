/**
 * `pg-parquet schedule …` as child processes against the real dev server, PostgreSQL, MinIO and
 * a worker process: create (cron, interval, a schema, incremental), describe, list, trigger,
 * backfill over three past times (three runs whose runKeys are those times), pause, unpause,
 * delete; bad flags refused before any call and unknown ids typed. Asserts on types, fields and
 * exit codes only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { ErrorType } from '../../src/contract/errors.js';
import type { ScheduleDescribeJson } from '../../src/cli/schedule-view.js';
import { describeExportSchedule } from '../../src/schedules.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { runKeyFromTime } from '../../workflows/run-key.js';
import { cliOn, json } from '../support/cli-process.js';
import { bucket, database, s3, stack, uniquePrefix } from '../support/fixtures.js';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../support/worker-process.js';

const taskQueue = `cli-sched-${randomUUID()}`;
const cli = cliOn(taskQueue);
const TABLE = 'public.it_sched_cli';
const ROWS = 700;

interface Failed {
  readonly status: string;
  readonly error: { readonly type: string; readonly message: string; readonly field?: string };
}

/** `schedule describe --json` as parsed: times are ISO text there. */
type Described = Omit<ScheduleDescribeJson, 'nextRunTimes' | 'recentRuns'> & {
  readonly nextRunTimes: string[];
  readonly recentRuns: { scheduledAt: string; workflowId: string; runKey: string; status: string | null }[];
};

describe('pg-parquet schedule', () => {
  let worker: WorkerProcess;
  let db: pg.Client;
  let connection: Connection;
  let temporal: Client;
  const created: string[] = [];

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_sched_cli; CREATE TABLE it_sched_cli (id int PRIMARY KEY, v text);
                    INSERT INTO it_sched_cli SELECT g, 'v' || g FROM generate_series(1, ${ROWS}) g;`);
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
    temporal = new Client({ connection });
    worker = await startWorkerProcess(taskQueue);
  });
  after(async () => {
    for (const id of created)
      await temporal.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await worker?.kill();
    await db?.end();
    await connection?.close();
  });

  /** `schedule create` of TABLE to a fresh prefix; returns the id and prefix. */
  function create(extra: string[]): { scheduleId: string; prefix: string; out: Record<string, unknown> } {
    const scheduleId = `it-sched-cli-${randomUUID()}`;
    const prefix = uniquePrefix('cli-sched');
    const r = cli([
      'schedule',
      'create',
      TABLE,
      '--to',
      `s3://${bucket()}/${prefix}`,
      '--schedule-id',
      scheduleId,
      ...extra,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    created.push(scheduleId);
    return { scheduleId, prefix, out: json<Record<string, unknown>>(r.stdout) };
  }

  function describeCli(scheduleId: string): Described {
    const r = cli(['schedule', 'describe', scheduleId, '--json']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return json<Described>(r.stdout);
  }

  async function hasSuccess(prefix: string, runKey: string): Promise<boolean> {
    const Key = `${prefix}/${TABLE}/run=${runKey}/_SUCCESS`;
    return s3()
      .send(new HeadObjectCommand({ Bucket: bucket(), Key }))
      .then(
        () => true,
        () => false,
      );
  }

  test('create (cron), describe, list, pause, unpause, trigger, delete', async () => {
    const { scheduleId, prefix, out } = create(['--cron', '0 0 1 1 *', '--pause-on-failure']);
    assert.equal(out.status, 'created');
    assert.equal(out.scheduleId, scheduleId);
    assert.equal(out.workflowIdBase, `pg-parquet/default/${TABLE}`);
    assert.equal(out.taskQueue, taskQueue);

    const d = describeCli(scheduleId);
    assert.equal(d.workflowType, 'exportTable');
    assert.equal(d.overlap, 'SKIP', 'overlap SKIP by default');
    assert.equal(d.pauseOnFailure, true);
    assert.equal(d.catchupWindowMs, 24 * 3600 * 1000);
    assert.deepEqual(d.spec.cron, ['0 0 1 1 *']);
    assert.equal(d.paused, false);
    assert.ok(
      d.nextRunTimes.every((t) => t.endsWith('-01-01T00:00:00.000Z')),
      d.nextRunTimes.join(),
    );

    // The list comes from the visibility store: it may take a moment to show a new schedule.
    await waitFor(
      'the schedule in the list',
      async () => {
        const l = cli(['schedule', 'list', '--json']);
        assert.equal(l.status, 0, l.stderr);
        return json<{ schedules: { scheduleId: string }[] }>(l.stdout).schedules.some(
          (s) => s.scheduleId === scheduleId,
        );
      },
      30_000,
    );

    const p = cli(['schedule', 'pause', scheduleId, '--note', 'maintenance', '--json']);
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(json(p.stdout), { scheduleId, paused: true, note: 'maintenance' });
    assert.equal(describeCli(scheduleId).paused, true);
    const u = cli(['schedule', 'unpause', scheduleId, '--json']);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(json<{ paused: boolean }>(u.stdout).paused, false);

    const t = cli(['schedule', 'trigger', scheduleId, '--json']);
    assert.equal(t.status, 0, t.stderr);
    const triggered = json<{ status: string; workflowId: string; runKey: string }>(t.stdout);
    assert.equal(triggered.status, 'started');
    assert.ok(triggered.workflowId.startsWith(`pg-parquet/default/${TABLE}-`), triggered.workflowId);
    const result = (await temporal.workflow.getHandle(triggered.workflowId).result()) as ExportTableResult;
    assert.equal(result.runKey, triggered.runKey);
    assert.equal(result.rows, ROWS);
    assert.ok(await hasSuccess(prefix, triggered.runKey));
    const [run] = describeCli(scheduleId).recentRuns;
    assert.equal(run!.workflowId, triggered.workflowId);
    assert.equal(run!.runKey, runKeyFromTime(new Date(run!.scheduledAt)));
    assert.equal(run!.status, 'COMPLETED');

    const del = cli(['schedule', 'delete', scheduleId, '--json']);
    assert.equal(del.status, 0, del.stderr);
    const gone = cli(['schedule', 'describe', scheduleId, '--json']);
    assert.equal(gone.status, 1);
    assert.equal(json<Failed>(gone.stdout).error.type, ErrorType.ScheduleNotFound);
  });

  test('backfill over three past times creates three runs whose runKeys are those times', async () => {
    const { scheduleId, prefix } = create(['--cron', '0 0 1 1 *']);
    const b = cli([
      'schedule',
      'backfill',
      scheduleId,
      '--from',
      '2022-01-01',
      '--to',
      '2024-01-01T00:00:00Z',
      '--json',
    ]);
    assert.equal(b.status, 0, b.stdout + b.stderr);
    assert.equal(json<{ status: string }>(b.stdout).status, 'backfilling');
    await waitFor(
      'three runs',
      async () => (await describeExportSchedule(temporal, scheduleId)).recentRuns.length >= 3,
      60_000,
    );
    const keys = ['20240101T000000Z', '20230101T000000Z', '20220101T000000Z'];
    let runs = describeCli(scheduleId).recentRuns;
    assert.deepEqual(
      runs.map((r) => r.runKey),
      keys,
    );
    for (const r of runs) {
      assert.equal(
        r.workflowId,
        `pg-parquet/default/${TABLE}-${new Date(r.scheduledAt).toISOString().replace('.000Z', 'Z')}`,
      );
      const result = (await temporal.workflow.getHandle(r.workflowId).result()) as ExportTableResult;
      assert.equal(result.runKey, r.runKey);
      assert.equal(result.rows, ROWS);
      assert.ok(await hasSuccess(prefix, r.runKey));
    }
    runs = describeCli(scheduleId).recentRuns;
    assert.deepEqual(
      runs.map((r) => r.status),
      ['COMPLETED', 'COMPLETED', 'COMPLETED'],
    );
  });

  test('--every with --offset; a second create under the same id is PgParquetScheduleExists', () => {
    const { scheduleId } = create(['--every', '1d', '--offset', '2h', '--paused']);
    const d = describeCli(scheduleId);
    assert.deepEqual(d.spec.intervals, [{ everyMs: 86_400_000, offsetMs: 7_200_000 }]);
    assert.equal(d.paused, true);
    assert.ok(d.nextRunTimes.length >= 2);
    for (const t of d.nextRunTimes) assert.match(t, /T02:00:00\.000Z$/);
    assert.equal(Date.parse(d.nextRunTimes[1]!) - Date.parse(d.nextRunTimes[0]!), 86_400_000);

    const again = cli([
      'schedule',
      'create',
      TABLE,
      '--to',
      `s3://${bucket()}/${uniquePrefix('cli-sched')}`,
      '--every',
      '1h',
      '--schedule-id',
      scheduleId,
      '--json',
    ]);
    assert.equal(again.status, 1);
    assert.equal(json<Failed>(again.stdout).error.type, ErrorType.ScheduleExists);
  });

  test('--incremental and --lag go into the action input: every scheduled run is incremental', () => {
    const { scheduleId, prefix } = create([
      '--every',
      '1h',
      '--paused',
      '--incremental',
      'updated_at',
      '--lag',
      '5 minutes',
    ]);
    const d = describeCli(scheduleId);
    assert.equal(d.workflowType, 'exportTable');
    assert.deepEqual(d.input, {
      source: { table: TABLE },
      destination: `s3://${bucket()}/${prefix}`,
      mode: 'incremental',
      incremental: { column: 'updated_at', lag: '5 minutes' },
    });
  });

  test('--schema makes an exportTables schedule with the default id', () => {
    const schema = `it_sched_cli_${randomUUID().slice(0, 8)}`;
    const r = cli([
      'schedule',
      'create',
      '--schema',
      schema,
      '--include',
      't_*',
      '--to',
      `s3://${bucket()}/${uniquePrefix('cli-sched')}`,
      '--cron',
      '@daily',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = json<{ scheduleId: string; workflowType: string; workflowIdBase: string }>(r.stdout);
    created.push(out.scheduleId);
    assert.equal(out.scheduleId, `pg-parquet-default-schema-${schema}`);
    assert.equal(out.workflowType, 'exportTables');
    assert.equal(out.workflowIdBase, `pg-parquet/default/${schema}.*`);
    const d = describeCli(out.scheduleId);
    assert.deepEqual(d.spec.cron, ['0 0 * * *']);
  });

  test('bad flags are refused before any call, typed, naming the flag', () => {
    const to = `s3://${bucket()}/${uniquePrefix('cli-sched')}`;
    const cases: [string[], string][] = [
      [['schedule', 'create', TABLE, '--to', to, '--cron', '61 * * * *'], '--cron'],
      [['schedule', 'create', TABLE, '--to', to, '--cron', 'every day'], '--cron'],
      [['schedule', 'create', TABLE, '--to', to, '--every', 'abc'], '--every'],
      [['schedule', 'create', TABLE, '--to', to, '--cron', '0 2 * * *', '--every', '1h'], '--every'],
      [['schedule', 'create', TABLE, '--to', to], '--cron'],
      [['schedule', 'create', TABLE, '--to', to, '--every', '1h', '--overlap', 'sometimes'], '--overlap'],
      [
        ['schedule', 'create', TABLE, '--to', to, '--every', '1h', '--catchup-window', '1s'],
        '--catchup-window',
      ],
      [['schedule', 'create', TABLE, '--to', to, '--every', '1h', '--schedule-id', 'a b'], '--schedule-id'],
      [['schedule', 'create', TABLE, '--to', to, '--every', '1h', '--include', 't_*'], '--include'],
      [
        ['schedule', 'create', '--schema', 'public', '--to', to, '--every', '1h', '--cursor', 'id'],
        '--cursor',
      ],
      [
        ['schedule', 'create', TABLE, '--to', to, '--every', '1h', '--incremental', 'id', '--lag', '1 month'],
        'incremental.lag',
      ],
      [['schedule', 'backfill', 'any-id', '--from', 'last week', '--to', '2024-01-01'], '--from'],
      [['schedule', 'backfill', 'any-id', '--from', '2024-01-02', '--to', '2024-01-01'], '--from'],
      [['schedule', 'backfill', 'any-id', '--from', '2024-01-01'], '--to'],
      [['schedule', 'trigger', 'any-id', '--overlap', 'TERMINATE_OTHER'], '--overlap'],
      [['schedule', 'describe', 'has space'], 'scheduleId'],
    ];
    for (const [args, field] of cases) {
      const r = cli([...args, '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:1' }); // nothing may be contacted
      assert.equal(r.signal, null, `${args.join(' ')} hung`);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      const out = json<Failed>(r.stdout);
      assert.equal(out.status, 'failed');
      assert.equal(out.error.type, ErrorType.InvalidInput, args.join(' '));
      assert.equal(out.error.field, field, args.join(' '));
    }
    // Without --json: the type on stderr, the same exit code.
    const human = cli(['schedule', 'create', TABLE, '--to', to, '--every', 'abc'], {
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    assert.equal(human.status, 2);
    assert.ok(human.stderr.startsWith(`${ErrorType.InvalidInput}:`), human.stderr);
  });

  test('an unknown id, or one of a schedule that starts other workflows, is PgParquetScheduleNotFound', async () => {
    const unknown = `it-sched-cli-none-${randomUUID()}`;
    for (const args of [
      ['describe', unknown],
      ['trigger', unknown],
      ['backfill', unknown, '--from', '2024-01-01', '--to', '2024-01-02'],
      ['pause', unknown],
      ['unpause', unknown],
      ['delete', unknown],
    ]) {
      const r = cli(['schedule', ...args, '--json']);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(json<Failed>(r.stdout).error.type, ErrorType.ScheduleNotFound, args.join(' '));
    }
    // Someone else's schedule: pg-parquet neither describes nor deletes it.
    const foreign = `it-sched-cli-foreign-${randomUUID()}`;
    await temporal.schedule.create({
      scheduleId: foreign,
      spec: { cronExpressions: ['0 0 1 1 *'] },
      action: { type: 'startWorkflow', workflowType: 'somethingElse', taskQueue, args: [] },
      state: { paused: true },
    });
    created.push(foreign);
    const del = cli(['schedule', 'delete', foreign, '--json']);
    assert.equal(del.status, 1);
    assert.equal(json<Failed>(del.stdout).error.type, ErrorType.ScheduleNotFound);
    assert.equal((await temporal.schedule.getHandle(foreign).describe()).scheduleId, foreign, 'still there');
  });
});
