/**
 * The flags of `pg-parquet schedule …`, checked before anything is contacted: the spec (`--cron`
 * or `--every`), the policies, the schedule id, the backfill range. Every refusal is an
 * InputError naming the flag, the value and what is accepted (exit 2).
 */
import { OVERLAP_POLICIES, type OverlapPolicy, type ScheduleExportOptions } from '../client.js';
import { checkCronExpression, checkTimeZone } from '../contract/cron-expression.js';
import { InputError } from '../contract/errors.js';
import { exportRequestFromFlags, type ExportRequest, type InputFlags } from './export-options.js';
import { durationFlag } from './flags.js';

/** The flags of `schedule create`, as commander parses them. */
export interface ScheduleCreateFlags extends InputFlags {
  readonly cron: readonly string[];
  readonly every?: string;
  readonly offset?: string;
  readonly timezone?: string;
  readonly overlap?: string;
  readonly catchupWindow?: string;
  readonly pauseOnFailure?: boolean;
  readonly paused?: boolean;
  readonly note?: string;
  readonly scheduleId?: string;
}

/** What `schedule create` creates: the runs' input and the schedule's options. */
export interface SchedulePlan {
  readonly request: ExportRequest;
  readonly options: ScheduleExportOptions;
}

/** Temporal's smallest catch-up window. */
const MIN_CATCHUP_MS = 10_000;

/**
 * A schedule id: what the Temporal UI and `temporal schedule` show. Printable, no white space
 * (it is typed on command lines), at most 200 characters.
 * @throws InputError naming `field`.
 */
export function checkScheduleId(id: unknown, field: string): string {
  if (typeof id !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(id)) {
    throw new InputError(field, id, 'a schedule id: 1 to 200 printable ASCII characters, no spaces');
  }
  return id;
}

/**
 * An `--overlap` flag.
 * @throws InputError naming `field` when it is not one of {@link OVERLAP_POLICIES}.
 */
export function overlapFlag(value: string | undefined, field = '--overlap'): OverlapPolicy | undefined {
  if (value === undefined) return undefined;
  const policy = value.toUpperCase();
  if (!(OVERLAP_POLICIES as readonly string[]).includes(policy)) {
    throw new InputError(field, value, `one of ${OVERLAP_POLICIES.join(', ')}`);
  }
  return policy as OverlapPolicy;
}

/**
 * The schedule `schedule create` asks for, from the table argument (or `--schema`), the input
 * flags and `--input`, and the schedule flags.
 * @throws InputError for the first bad flag or input field.
 */
export function schedulePlanFromFlags(table: string | undefined, flags: ScheduleCreateFlags): SchedulePlan {
  const cron = flags.cron;
  if (cron.length > 0 && flags.every !== undefined) {
    throw new InputError('--every', flags.every, 'either --cron or --every, not both');
  }
  if (cron.length === 0 && flags.every === undefined) {
    throw new InputError(
      '--cron',
      undefined,
      'a --cron expression (e.g. "0 2 * * *") or an --every interval (e.g. 1d)',
    );
  }
  cron.forEach((c) => checkCronExpression(c, '--cron'));
  let every: number | undefined;
  let offset: number | undefined;
  if (flags.every !== undefined) {
    every = durationFlag(flags.every, '--every');
    if (flags.offset !== undefined) {
      offset = durationFlag(flags.offset, '--offset', 0);
      if (offset >= every) throw new InputError('--offset', flags.offset, `a duration shorter than --every`);
    }
  } else if (flags.offset !== undefined) {
    throw new InputError('--offset', flags.offset, 'only with --every');
  }
  if (flags.timezone !== undefined) checkTimeZone(flags.timezone, '--timezone');
  const overlap = overlapFlag(flags.overlap);
  const catchupWindow =
    flags.catchupWindow === undefined
      ? undefined
      : durationFlag(flags.catchupWindow, '--catchup-window', MIN_CATCHUP_MS);
  const scheduleId =
    flags.scheduleId === undefined ? undefined : checkScheduleId(flags.scheduleId, '--schedule-id');

  const request = exportRequestFromFlags(table, flags);
  if (request.resolved.runKey !== null) {
    throw new InputError(
      'runKey',
      request.resolved.runKey,
      'null in --input: each scheduled run takes its scheduled time as runKey',
    );
  }
  const options: ScheduleExportOptions = {
    ...(scheduleId === undefined ? {} : { scheduleId }),
    ...(cron.length > 0 ? { cron } : {}),
    ...(every === undefined ? {} : { intervals: [{ every, ...(offset === undefined ? {} : { offset }) }] }),
    ...(flags.timezone === undefined ? {} : { timezone: flags.timezone }),
    ...(overlap === undefined ? {} : { overlap }),
    ...(catchupWindow === undefined ? {} : { catchupWindow }),
    pauseOnFailure: flags.pauseOnFailure === true,
    paused: flags.paused === true,
    ...(flags.note === undefined ? {} : { note: flags.note }),
  };
  return { request, options };
}

/**
 * `2024-01-01`, `2024-01-01T02:00Z`, `2024-01-01T02:00:00+01:00`: a date (midnight UTC) or a
 * time with its offset. A time without one is refused: it would depend on the machine's zone.
 */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * A time flag (`--from`, `--to`).
 * @throws InputError naming `field` for anything but an ISO 8601 date or time with an offset.
 */
function timeFlag(value: string | undefined, field: string): Date {
  const accepted = 'an ISO 8601 date or time with its offset, e.g. 2024-01-01 or 2024-01-01T02:00:00Z';
  const m = value === undefined ? null : ISO_TIME.exec(value.trim());
  if (!m) throw new InputError(field, value, accepted);
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  // Reject what Date would roll over (2024-02-30, 25:00) rather than read as another time.
  const utc = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  const exact =
    utc.getUTCFullYear() === Number(y) &&
    utc.getUTCMonth() === Number(mo) - 1 &&
    utc.getUTCDate() === Number(d) &&
    utc.getUTCHours() === Number(h) &&
    utc.getUTCMinutes() === Number(mi) &&
    utc.getUTCSeconds() === Number(s);
  const time = new Date(m[4] === undefined ? `${value!.trim()}T00:00:00Z` : value!.trim());
  if (!exact || Number.isNaN(time.getTime())) throw new InputError(field, value, accepted);
  return time;
}

/**
 * The range of `schedule backfill --from T --to T`: both included, `from` not after `to`, and
 * neither in the future (a backfill is for times that have passed).
 * @throws InputError naming `--from` or `--to`.
 */
export function backfillRange(
  flags: { readonly from?: string; readonly to?: string },
  now: Date = new Date(),
): { start: Date; end: Date } {
  const start = timeFlag(flags.from, '--from');
  const end = timeFlag(flags.to, '--to');
  if (end.getTime() > now.getTime()) throw new InputError('--to', flags.to, 'a time that has passed');
  if (start.getTime() > end.getTime()) throw new InputError('--from', flags.from, 'a time not after --to');
  return { start, end };
}
