/**
 * `pg-parquet schedule create|list|describe|trigger|backfill|pause|unpause|delete`: Temporal
 * Schedules of exports. Every run a schedule starts is named `<action id>-<scheduled time>` and
 * exports under that time as its runKey, so a failed run started again under its id resumes.
 * Flags are checked before anything is contacted (exit 2); an id that names no export schedule is
 * `PgParquetScheduleNotFound` (exit 1).
 */
import type { Command } from 'commander';
import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import { scheduleExport, scheduleExportTables } from '../client.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import {
  backfillExportSchedule,
  deleteExportSchedule,
  describeExportSchedule,
  EXPORT_TYPES,
  listExportSchedules,
  pauseExportSchedule,
  triggerExportSchedule,
  unpauseExportSchedule,
  type ExportScheduleDetails,
  type ScheduledRun,
} from '../schedules.js';
import { connectClient } from '../temporal-connection.js';
import { addInputOptions } from './export-options.js';
import { print } from './output.js';
import {
  backfillRange,
  checkScheduleId,
  overlapFlag,
  schedulePlanFromFlags,
  type ScheduleCreateFlags,
} from './schedule-options.js';
import {
  describeJson,
  durationText,
  listEntryJson,
  printDescribe,
  printScheduleList,
  type ScheduledRunState,
} from './schedule-view.js';

interface JsonFlag {
  readonly json?: boolean;
}

const collect = (value: string, previous: readonly string[]): string[] => [...previous, value];

/** Runs `fn` with a connected client, and closes it after. */
async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient();
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

function notFound(scheduleId: string, why = 'no schedule has this id'): PgParquetError {
  return new PgParquetError(ErrorType.ScheduleNotFound, `${scheduleId}: ${why}`, false, { scheduleId });
}

/**
 * The export schedule of this id. Refuses one that starts other workflows: `pg-parquet` only
 * pauses, triggers or deletes its own.
 * @throws PgParquetError `PgParquetScheduleNotFound`.
 */
async function exportSchedule(client: Client, scheduleId: string): Promise<ExportScheduleDetails> {
  let d: ExportScheduleDetails;
  try {
    d = await describeExportSchedule(client, scheduleId);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(scheduleId);
    throw err;
  }
  if (!EXPORT_TYPES.has(d.workflowType)) {
    throw notFound(scheduleId, `it starts ${d.workflowType} workflows, not exports`);
  }
  return d;
}

/**
 * An operation on one export schedule: the id is checked before anything is contacted, then the
 * schedule is looked up (typed if it is not an export schedule) and `fn` runs with it.
 */
async function onSchedule<T>(
  id: string,
  fn: (client: Client, d: ExportScheduleDetails) => Promise<T>,
): Promise<T> {
  const scheduleId = checkScheduleId(id, 'scheduleId');
  return withClient(async (client) => {
    try {
      return await fn(client, await exportSchedule(client, scheduleId));
    } catch (err) {
      // Deleted between the look-up and the operation.
      if (err instanceof ScheduleNotFoundError) throw notFound(scheduleId);
      throw err;
    }
  });
}

/** The recent runs of a schedule, each with the state of the latest run under its id. */
async function withStates(client: Client, runs: readonly ScheduledRun[]): Promise<ScheduledRunState[]> {
  return Promise.all(
    runs.map(async (r) => {
      const status = await client.workflow
        .getHandle(r.workflowId)
        .describe()
        .then((d) => d.status.name as string)
        .catch(() => null);
      return { ...r, status };
    }),
  );
}

async function createAction(table: string | undefined, flags: ScheduleCreateFlags & JsonFlag): Promise<void> {
  const plan = schedulePlanFromFlags(table, flags);
  await withClient(async (client) => {
    let handle;
    try {
      handle =
        plan.request.kind === 'table'
          ? await scheduleExport(client, plan.request.input, plan.options)
          : await scheduleExportTables(client, plan.request.input, plan.options);
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) {
        throw new PgParquetError(
          ErrorType.ScheduleExists,
          `${err.scheduleId}: a schedule with this id exists already (choose another --schedule-id, or delete it first)`,
          false,
          { scheduleId: err.scheduleId },
        );
      }
      throw err;
    }
    const d = await exportSchedule(client, handle.scheduleId);
    const out = {
      status: 'created',
      scheduleId: d.scheduleId,
      workflowType: d.workflowType,
      workflowIdBase: d.workflowIdBase,
      taskQueue: d.taskQueue,
      paused: d.paused,
      nextRunTimes: d.nextRunTimes,
    };
    print(flags.json, out, () => {
      console.log(`created schedule ${d.scheduleId} (${d.workflowType} on task queue ${d.taskQueue})`);
      console.log(
        `  each run is started as ${d.workflowIdBase}-<scheduled time> and exports under that time as runKey`,
      );
      console.log(
        `  overlap ${d.overlap}, catch-up window ${durationText(d.catchupWindowMs)}, ` +
          `pause on failure ${d.pauseOnFailure ? 'yes' : 'no'}${d.paused ? '; created paused' : ''}`,
      );
      console.log(
        `  next runs: ${
          d.nextRunTimes
            .slice(0, 3)
            .map((t) => t.toISOString())
            .join(', ') || '-'
        }`,
      );
    });
  });
}

/**
 * Triggers a run now, under the schedule's own overlap policy unless `--overlap` says otherwise,
 * and waits (up to 10 s) to see which run it started, or that the policy skipped it.
 */
async function triggerAction(id: string, flags: { overlap?: string } & JsonFlag): Promise<void> {
  const overlap = overlapFlag(flags.overlap);
  await onSchedule(id, async (client, d) => {
    const seen = new Set([...d.recentRuns.map((r) => r.workflowId), ...d.runningWorkflowIds]);
    const skippedBefore = d.raw.info.numActionsSkippedOverlap;
    await triggerExportSchedule(client, d.scheduleId, { overlap: overlap ?? d.overlap });
    let run: ScheduledRun | undefined;
    let skipped = false;
    for (const end = Date.now() + 10_000; Date.now() < end && !run && !skipped; ) {
      await new Promise((r) => setTimeout(r, 250));
      const now = await describeExportSchedule(client, d.scheduleId);
      run = now.recentRuns.find((r) => !seen.has(r.workflowId));
      skipped = now.raw.info.numActionsSkippedOverlap > skippedBefore;
    }
    const status = run ? 'started' : skipped ? 'skipped' : 'triggered';
    const out = {
      scheduleId: d.scheduleId,
      status,
      workflowId: run?.workflowId ?? null,
      runKey: run?.runKey ?? null,
    };
    print(flags.json, out, () => {
      if (run) console.log(`started ${run.workflowId} (runKey ${run.runKey ?? '-'})`);
      else if (skipped)
        console.log(`skipped: a run is still in flight and the overlap policy is ${overlap ?? d.overlap}`);
      else
        console.log(
          `triggered ${d.scheduleId}; no run seen yet: pg-parquet schedule describe '${d.scheduleId}'`,
        );
    });
  });
}

async function backfillAction(
  id: string,
  flags: { from?: string; to?: string; overlap?: string } & JsonFlag,
) {
  const { start, end } = backfillRange(flags);
  const overlap = overlapFlag(flags.overlap) ?? 'BUFFER_ALL';
  await onSchedule(id, async (client, d) => {
    await backfillExportSchedule(client, d.scheduleId, { start, end, overlap });
    const out = { scheduleId: d.scheduleId, status: 'backfilling', from: start, to: end, overlap };
    print(flags.json, out, () =>
      console.log(
        `backfill of ${d.scheduleId} requested: one run per scheduled time from ${start.toISOString()} ` +
          `to ${end.toISOString()} (both included), overlap ${overlap}, each under its scheduled time as runKey; ` +
          `follow them with pg-parquet schedule describe '${d.scheduleId}'`,
      ),
    );
  });
}

/** Pause or unpause. */
async function pauseAction(id: string, paused: boolean, flags: { note?: string } & JsonFlag): Promise<void> {
  await onSchedule(id, async (client, d) => {
    // A note is always sent: the SDK's own default reads "Paused via TypeScript SDK"", and an empty
    // one would not pause at all (an unset field to the server).
    if (paused) await pauseExportSchedule(client, d.scheduleId, flags.note || 'paused with pg-parquet');
    else await unpauseExportSchedule(client, d.scheduleId, flags.note || 'unpaused with pg-parquet');
    const now = await describeExportSchedule(client, d.scheduleId);
    print(flags.json, { scheduleId: d.scheduleId, paused: now.paused, note: now.note || null }, () =>
      console.log(`${d.scheduleId}: ${now.paused ? 'paused' : 'active'}${now.note ? ` (${now.note})` : ''}`),
    );
  });
}

/** Registers `pg-parquet schedule …` on the program. */
export function registerScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('Temporal Schedules of exports: each run exports under its scheduled time as runKey');

  addInputOptions(
    schedule
      .command('create')
      .description("create a schedule that exports <table> (or, with --schema, a schema's tables)")
      .argument('[table]', 'schema.table (may come from --input)'),
  )
    .option(
      '--cron <expr>',
      'cron expression in UTC (or --timezone), e.g. "0 2 * * *" (repeatable)',
      collect,
      [],
    )
    .option('--every <duration>', 'or an interval: 30m, 1h, 1d, 1h30m')
    .option('--offset <duration>', 'with --every: shift the times, e.g. --every 1d --offset 2h (02:00 UTC)')
    .option('--timezone <zone>', 'IANA time zone of --cron (default UTC)')
    .option(
      '--overlap <policy>',
      'when a run is due while one runs: SKIP (default), BUFFER_ONE, BUFFER_ALL, ALLOW_ALL',
    )
    .option(
      '--catchup-window <duration>',
      'how late a run missed while Temporal was down may still start (default 1d)',
    )
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .option(
      '--schedule-id <id>',
      'default pg-parquet-<connection>-<schema>.<table> (…-schema-<schema> with --schema)',
    )
    .option('--json', 'print one JSON document')
    .action(createAction);

  schedule
    .command('list')
    .description('list the schedules of exports (exportTable and exportTables)')
    .option('--json', 'print one JSON document')
    .action(async (flags: JsonFlag) => {
      const list = await withClient((client) => listExportSchedules(client));
      print(flags.json, { schedules: list.map(listEntryJson) }, () => printScheduleList(list));
    });

  schedule
    .command('describe')
    .description('show a schedule: spec, policies, paused state, next times, recent runs with their runKeys')
    .argument('<scheduleId>')
    .option('--json', 'print one JSON document')
    .action(async (id: string, flags: JsonFlag) => {
      const view = await onSchedule(id, async (client, d) =>
        describeJson(d, await withStates(client, d.recentRuns)),
      );
      print(flags.json, view, () => printDescribe(view));
    });

  schedule
    .command('trigger')
    .description('start a run now (its runKey: now, to the second)')
    .argument('<scheduleId>')
    .option('--overlap <policy>', "for this run (default: the schedule's policy)")
    .option('--json', 'print one JSON document')
    .action(triggerAction);

  schedule
    .command('backfill')
    .description('start the runs the schedule would have started between two past times')
    .argument('<scheduleId>')
    .option('--from <time>', 'first time, ISO 8601 (2024-01-01 or 2024-01-01T02:00:00Z), included')
    .option('--to <time>', 'last time, included')
    .option('--overlap <policy>', 'default BUFFER_ALL: the runs go one after the other')
    .option('--json', 'print one JSON document')
    .action(backfillAction);

  schedule
    .command('pause')
    .description('pause a schedule (no runs start until unpaused; trigger and backfill still work)')
    .argument('<scheduleId>')
    .option('--note <text>', 'why (shown with the schedule)')
    .option('--json', 'print one JSON document')
    .action((id: string, flags: { note?: string } & JsonFlag) => pauseAction(id, true, flags));

  schedule
    .command('unpause')
    .description('unpause a schedule (also one paused by --pause-on-failure)')
    .argument('<scheduleId>')
    .option('--note <text>', 'a note shown with the schedule')
    .option('--json', 'print one JSON document')
    .action((id: string, flags: { note?: string } & JsonFlag) => pauseAction(id, false, flags));

  schedule
    .command('delete')
    .description('delete a schedule (runs it started go on; their output stays)')
    .argument('<scheduleId>')
    .option('--json', 'print one JSON document')
    .action(async (id: string, flags: JsonFlag) => {
      await onSchedule(id, (client, d) => deleteExportSchedule(client, d.scheduleId));
      print(flags.json, { scheduleId: id, status: 'deleted' }, () => console.log(`deleted ${id}`));
    });
}
