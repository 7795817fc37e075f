/**
 * What `pg-parquet schedule list` and `schedule describe` print: the JSON documents (dates as ISO
 * text, no SDK internals) and their human forms (the spec written back as cron fields, the next
 * times, the recent runs with their runKeys and states).
 */
import type { CalendarSpecDescription, Range, ScheduleSpecDescription } from '@temporalio/client';
import type { ExportSchedule, ExportScheduleDetails, ScheduledRun } from '../schedules.js';

/** A recent run of a schedule, with the state of the latest run under its workflow id. */
export interface ScheduledRunState extends ScheduledRun {
  /** RUNNING, COMPLETED, FAILED, TERMINATED, … (null when Temporal no longer knows the id). */
  readonly status: string | null;
}

/** What `schedule describe --json` prints. */
export interface ScheduleDescribeJson {
  readonly scheduleId: string;
  readonly workflowType: string;
  readonly paused: boolean;
  readonly note: string | null;
  /** Every run's id is this, `-` and its scheduled time; its runKey is that time. */
  readonly workflowIdBase: string;
  readonly taskQueue: string;
  /** The spec as the server stores it: cron expressions come back as calendars. */
  readonly spec: {
    readonly cron: readonly string[];
    readonly intervals: readonly { readonly everyMs: number; readonly offsetMs: number }[];
    readonly timezone: string | null;
  };
  readonly overlap: string;
  readonly catchupWindowMs: number;
  readonly pauseOnFailure: boolean;
  readonly actionsTaken: number;
  readonly input: unknown;
  readonly nextRunTimes: readonly Date[];
  readonly runningWorkflowIds: readonly string[];
  /** Newest first (the server keeps the last 10). */
  readonly recentRuns: readonly ScheduledRunState[];
}

/** The JSON of `schedule describe`. */
export function describeJson(
  d: ExportScheduleDetails,
  recentRuns: readonly ScheduledRunState[],
): ScheduleDescribeJson {
  return {
    ...listEntryJson(d),
    workflowIdBase: d.workflowIdBase,
    taskQueue: d.taskQueue,
    spec: specOf(d.raw.spec),
    overlap: d.overlap ?? 'SKIP',
    catchupWindowMs: d.catchupWindowMs,
    pauseOnFailure: d.pauseOnFailure,
    actionsTaken: d.actionsTaken,
    input: d.input,
    runningWorkflowIds: d.runningWorkflowIds,
    recentRuns,
  };
}

function specOf(spec: ScheduleSpecDescription): ScheduleDescribeJson['spec'] {
  return {
    cron: (spec.calendars ?? []).map(calendarAsCron),
    intervals: (spec.intervals ?? []).map((i) => ({ everyMs: i.every, offsetMs: i.offset })),
    timezone: spec.timezone || null,
  };
}

/** The human form of `schedule describe`. */
export function printDescribe(s: ScheduleDescribeJson): void {
  const state = s.paused ? `paused${s.note ? ` (${s.note})` : ''}` : 'active';
  console.log(`schedule ${s.scheduleId}: ${s.workflowType}, ${state}`);
  console.log(`  runs        ${s.workflowIdBase}-<scheduled time> on task queue ${s.taskQueue}`);
  const when = [
    ...s.spec.cron.map((c) => `cron "${c}"`),
    ...s.spec.intervals.map(
      (i) => `every ${durationText(i.everyMs)}${i.offsetMs ? ` (offset ${durationText(i.offsetMs)})` : ''}`,
    ),
  ];
  console.log(
    `  when        ${when.join(', ') || '-'}${s.spec.timezone ? ` in ${s.spec.timezone}` : ' (UTC)'}`,
  );
  console.log(
    `  policies    overlap ${s.overlap}, catch-up window ${durationText(s.catchupWindowMs)}, ` +
      `pause on failure ${s.pauseOnFailure ? 'yes' : 'no'}`,
  );
  console.log(`  next runs   ${s.nextRunTimes.slice(0, 5).map(isoSeconds).join(', ') || '-'}`);
  if (s.recentRuns.length === 0) {
    console.log('  recent runs none yet');
    return;
  }
  console.log(`  recent runs (newest first; ${s.actionsTaken} in all)`);
  for (const r of s.recentRuns) {
    console.log(
      `    ${isoSeconds(r.scheduledAt)}  ${(r.status ?? '-').padEnd(10)}  runKey ${r.runKey ?? '-'}  ${r.workflowId}`,
    );
  }
  if (s.recentRuns.some((r) => r.status !== null && r.status !== 'RUNNING' && r.status !== 'COMPLETED')) {
    console.log(
      '  a run that did not complete resumes when started again under its workflow id ' +
        '(the Temporal UI\'s "Start Workflow Like This One")',
    );
  }
}

/** The JSON of one schedule in `schedule list`. */
export function listEntryJson(s: ExportSchedule) {
  return {
    scheduleId: s.scheduleId,
    workflowType: s.workflowType,
    paused: s.paused,
    // The server answers "" for no note.
    note: s.note || null,
    nextRunTimes: s.nextRunTimes,
    recentRuns: s.recentRuns,
  };
}

/** The human form of `schedule list`: one line per schedule. */
export function printScheduleList(list: readonly ExportSchedule[]): void {
  if (list.length === 0) {
    console.log('no export schedules found');
    return;
  }
  const rows = list.map((s) => [
    s.scheduleId,
    s.workflowType,
    s.paused ? 'paused' : 'active',
    s.nextRunTimes[0] ? isoSeconds(s.nextRunTimes[0]) : '-',
    s.recentRuns[0]?.runKey ?? '-',
  ]);
  const head = ['SCHEDULE ID', 'TYPE', 'STATE', 'NEXT RUN', 'LAST RUN KEY'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows])
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `1d`, `1h30m`, `45s` (whole seconds). */
export function durationText(ms: number): string {
  let s = Math.round(ms / 1000);
  if (s === 0) return '0s';
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= size) {
      out += `${Math.floor(s / size)}${unit}`;
      s %= size;
    }
  }
  return out;
}

/** Field ranges of a calendar, its smallest and largest value, and how a value is written. */
interface CalendarField<T> {
  readonly ranges: readonly Range<T>[];
  readonly min: number;
  readonly max: number;
  readonly index: (v: T) => number;
}

const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
];
const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/**
 * A calendar written back as a cron expression: `minute hour day-of-month month day-of-week`,
 * with `second` first and `year` last when they are not 0 and `*`.
 */
function calendarAsCron(c: CalendarSpecDescription): string {
  const num = (v: number) => v;
  const second = fieldText({ ranges: c.second, min: 0, max: 59, index: num });
  const year = c.year.length === 0 ? '*' : fieldText({ ranges: c.year, min: 0, max: 9999, index: num });
  const fields = [
    fieldText({ ranges: c.minute, min: 0, max: 59, index: num }),
    fieldText({ ranges: c.hour, min: 0, max: 23, index: num }),
    fieldText({ ranges: c.dayOfMonth, min: 1, max: 31, index: num }),
    fieldText({ ranges: c.month, min: 1, max: 12, index: (m) => MONTHS.indexOf(m) + 1 }),
    fieldText({ ranges: c.dayOfWeek, min: 0, max: 6, index: (d) => DAYS.indexOf(d) }),
  ];
  if (second !== '0' || year !== '*') return [second, ...fields, year].join(' ');
  return fields.join(' ');
}

function fieldText<T>(f: CalendarField<T>): string {
  return f.ranges
    .map((r) => {
      const start = f.index(r.start);
      const end = f.index(r.end);
      const step = r.step > 1 ? `/${r.step}` : '';
      if (start === f.min && end === f.max) return `*${step}`;
      return `${start}${end !== start ? `-${end}` : ''}${step}`;
    })
    .join(',');
}
