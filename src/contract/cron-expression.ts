/**
 * Checks a cron expression the way the Temporal server reads a schedule's `cronExpressions`
 * (service/worker/scheduler, `parseCronString`), so that a bad one is refused before any call
 * with a typed error instead of an untyped gRPC INVALID_ARGUMENT from the server. Pure.
 */
import { InputError } from './errors.js';

/** What a cron expression may be, for error messages. */
const ACCEPTED =
  'a cron expression: 5 fields (minute hour day-of-month month day-of-week), 6 (… year) or 7 ' +
  '(second first), each *, a value, a range a-b, a list a,b and an optional /step; or @yearly, ' +
  '@monthly, @weekly, @daily, @hourly, @every <duration>; e.g. "0 2 * * *"';

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names accepted for values, and the shortest prefix of them that counts (months 3, days 2). */
  readonly names?: { readonly list: readonly string[]; readonly first: number; readonly prefix: number };
}

const MONTHS = {
  list: [
    'january',
    'february',
    'march',
    'april',
    'may',
    'june',
    'july',
    'august',
    'september',
    'october',
    'november',
    'december',
  ],
  first: 1,
  prefix: 3,
} as const;
const DAYS = {
  list: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'],
  first: 0,
  prefix: 2,
} as const;

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: Field = { name: 'month', min: 1, max: 12, names: MONTHS };
// 7 is Sunday too, as in most crons.
const DAY_OF_WEEK: Field = { name: 'day-of-week', min: 0, max: 7, names: DAYS };
// The server's calendar years.
const YEAR: Field = { name: 'year', min: 2000, max: 2100 };

const LAYOUTS: Readonly<Record<number, readonly Field[]>> = {
  5: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK],
  6: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
  7: [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
};

const PREDEFINED = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** `@every` takes whole units of s, m, h or d (the SDK's documented form), an optional `/<phase>`. */
const EVERY = /^@every\s+(\d+[smhd])+(\/(\d+[smhd])+)?$/;

/**
 * Refuses a cron expression the Temporal server would not accept. A leading `TZ=<zone>` or
 * `CRON_TZ=<zone>` and a trailing `# comment` are allowed, as the server allows them.
 * @throws InputError naming `field`, the expression and, in `accepted`, the part that is wrong.
 */
export function checkCronExpression(expression: unknown, field: string): void {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new InputError(field, expression, ACCEPTED);
  }
  const fail = (why: string): never => {
    throw new InputError(field, expression, `${why}; ${ACCEPTED}`);
  };
  let text = expression.trim();
  if (/^(CRON_)?TZ=/.test(text)) {
    const space = text.search(/\s/);
    if (space < 0) fail('a time zone prefix but no fields');
    checkTimeZone(text.slice(text.indexOf('=') + 1, space), field);
    text = text.slice(space).trim();
  }
  const hash = text.indexOf('#');
  if (hash >= 0) text = text.slice(0, hash).trim();
  if (text.startsWith('@every')) {
    if (!EVERY.test(text)) fail('@every followed by a duration such as 30m, 1h or 1d (phase: /15m)');
    return;
  }
  if (text.startsWith('@')) {
    if (!PREDEFINED.has(text)) fail(`unknown shorthand ${JSON.stringify(text)}`);
    return;
  }
  const parts = text.split(/\s+/);
  const layout = LAYOUTS[parts.length];
  if (!layout) fail(`${parts.length} fields`);
  layout!.forEach((f, i) => {
    const why = fieldProblem(parts[i]!, f);
    if (why !== null) fail(`${f.name} ${JSON.stringify(parts[i])}: ${why}`);
  });
}

/**
 * Refuses a time zone name that this Node.js (its ICU data, IANA like the server's) does not
 * know, e.g. a typo such as `Europe/Berln`.
 * @throws InputError naming `field`.
 */
export function checkTimeZone(zone: unknown, field: string): void {
  const accepted = 'an IANA time zone name such as UTC, Europe/Berlin or America/New_York';
  if (typeof zone !== 'string' || zone === '') throw new InputError(field, zone, accepted);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new InputError(field, zone, accepted);
  }
}

/** Why one field of a cron expression is wrong, or null when it is fine. */
function fieldProblem(text: string, f: Field): string | null {
  for (const part of text.split(',')) {
    const [base, step, ...extra] = part.split('/');
    if (extra.length > 0) return 'more than one /';
    if (step !== undefined && !/^\d+$/.test(step)) return 'a step must be a whole number';
    if (step !== undefined && Number(step) < 1) return 'a step must be at least 1';
    if (base === '*') continue;
    const [lo, hi, ...more] = base!.split('-');
    if (more.length > 0) return 'more than one -';
    const start = valueOf(lo!, f);
    if (start === null) return `a value must be ${range(f)}`;
    if (hi !== undefined) {
      const end = valueOf(hi, f);
      if (end === null) return `a value must be ${range(f)}`;
      if (end < start) return 'a range must not end before it starts';
    }
  }
  return null;
}

function range(f: Field): string {
  return `from ${f.min} to ${f.max}${f.names ? ` or a name (${f.names.list[0]!.slice(0, f.names.prefix)}…)` : ''}`;
}

/** A field's value as a number: a whole number in range, or a name (a prefix of one). */
function valueOf(text: string, f: Field): number | null {
  if (f.names && text.length >= f.names.prefix) {
    const lower = text.toLowerCase();
    const i = f.names.list.findIndex((n) => n.startsWith(lower));
    if (i >= 0) return i + f.names.first;
  }
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= f.min && n <= f.max ? n : null;
}
