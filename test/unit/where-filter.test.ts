/**
 * The where checker and its printed filter (pure: the parser runs in-process, no database).
 * Integration tests run the printed filters against PostgreSQL (bad-input, least-privilege).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType, PgParquetError } from '../../src/contract/errors.js';
import { checkWhere, filterSql, type PlanningClock } from '../../src/postgres/where-filter.js';

const COLUMNS = ['id', 'name', 'ts', 'd', 'j', 'arr', 'amount', 'Mixed Case'];
const clock = (iso: string): PlanningClock => ({
  timestamptz: iso,
  timestamp: iso.replace('T', ' ').replace('Z', ''),
  date: iso.slice(0, 10),
  timetz: `${iso.slice(11, -1)}+00`,
  time: iso.slice(11, -1),
});
const A = clock('2030-01-02T03:04:05.000006Z');
const B = clock('2031-06-07T08:09:10.000011Z');

const ACCEPTED = [
  "id > 5 AND name = 'x'",
  'id BETWEEN 1 AND 10 OR id IN (20, 30)',
  "lower(name) LIKE 'a%' OR name IS NULL",
  'coalesce(amount, 0) > 1.5',
  'CASE WHEN id > 0 THEN true ELSE false END',
  'id = ANY (ARRAY[1, 2])',
  'extract(year FROM ts) = 2024',
  "ts AT TIME ZONE 'UTC' > '2024-01-01'",
  "trim(name) = 'a'",
  "substring(name FROM 1 FOR 2) = 'ab'",
  "j ->> 'k' = 'v'",
  `j @> '{"a":1}'::jsonb`,
  'arr[1] = 2',
  "name SIMILAR TO 'a%'",
  'id IS DISTINCT FROM 3',
  'NOT (id > 1)',
  'greatest(id, 2) > 1',
  "position('a' IN name) > 0",
  'amount::numeric(10, 2) > 1.5',
  `"Mixed Case" = 'it''s'`,
  'name COLLATE "C" < \'b\'',
  "date_trunc('day', ts) = '2024-01-01'",
  "age(ts, '2020-01-01') > interval '1 year'",
];

const TIME_RELATIVE = [
  "ts > now() - interval '1 day'",
  'd >= current_date - 7',
  'ts > current_timestamp(0)',
  'ts::timestamp < localtimestamp',
  'ts < transaction_timestamp()',
  'ts < statement_timestamp()',
  'ts < pg_catalog.now()',
];

/** Text that must be refused, and a word the refusal names. */
const REFUSED: [string, RegExp][] = [
  ['pg_terminate_backend(1) OR true', /volatile.*pg_terminate_backend/],
  ["lo_export(1, '/tmp/x') > 0", /lo_export/],
  ['(SELECT v FROM secret LIMIT 1) = name', /subquery/],
  ['EXISTS (SELECT 1)', /subquery/],
  ['pg_advisory_lock(1) IS NULL', /pg_advisory_lock/],
  ["pg_notify('a', 'b') IS NULL", /pg_notify/],
  ['pg_reload_conf()', /pg_reload_conf/],
  ["pg_read_file('/etc/passwd') <> ''", /pg_read_file/],
  ['random() < 0.5', /random/],
  ['ts < clock_timestamp()', /clock_timestamp/],
  ['id > 1; DROP TABLE t', /more than one statement/],
  ['id > 1) UNION SELECT 1 FROM pg_authid WHERE (true', /parse/],
  ['id > 1 GROUP BY 1', /beyond one expression/],
  ['id > 1 ORDER BY 1', /beyond one expression/],
  ['id > 1 LIMIT 1', /beyond one expression/],
  ['id > 1 FOR UPDATE', /beyond one expression/],
  ['secret.v = 1', /reference secret\.v/],
  ['$1 > 0', /parameter/],
  ["'pg_authid'::regclass::oid > 0", /cast to/],
  ['public.f(id)', /allow-list: public\.f/],
  ['count(*) > 1', /aggregate/],
  ['sum(id) OVER () > 0', /aggregate or window/],
  ["current_user = 'x'", /session value/],
  ["ts > 'now'", /time word/],
  ["d = 'today'::date", /time word/],
  ["age(ts) > interval '1 day'", /age\(\) with one argument/],
  ['nope > 1', /column "nope"/],
  ['id OPERATOR(public.=) 1', /operator public\.=/],
  ["name::my_enum = 'a'", /cast to my_enum/],
  ["current_setting('a') = 'b'", /current_setting/],
  ['id IS OF (int)', /./],
  ["repeat(name, 1000000000) <> ''", /allow-list: repeat/],
  ['ts < now(1)', /allow-list: now/],
];

test('accepted filters print back to a tree equal to the checked one, functions qualified', async () => {
  for (const where of ACCEPTED) {
    const checked = await checkWhere(where, COLUMNS);
    assert.equal(checked.timeRelative, false, where);
    const sql = filterSql(checked, null);
    // What runs passes the same check again, and prints to itself.
    const again = await checkWhere(sql.replace(/pg_catalog\./g, ''), COLUMNS);
    assert.equal(filterSql(again, null), sql, where);
    for (const fn of sql.matchAll(/\b([a-z_]+)\(/g)) {
      const name = fn[1]!;
      if (!['numeric'].includes(name))
        assert.match(sql, new RegExp(`pg_catalog\\.${name}\\(`), `${where}: ${sql}`);
    }
  }
});

test('time-relative filters are bound to the planning clock: same clock, same text; no clock call left', async () => {
  for (const where of TIME_RELATIVE) {
    const checked = await checkWhere(where, COLUMNS);
    assert.equal(checked.timeRelative, true, where);
    const a = filterSql(checked, A);
    assert.equal(filterSql(checked, A), a, 'a retry prints the same filter');
    assert.notEqual(filterSql(checked, B), a, 'another planning time, another filter');
    const bound = await checkWhere(a.replace(/pg_catalog\./g, ''), COLUMNS);
    assert.equal(bound.timeRelative, false, `${where} → ${a}`);
    assert.ok(
      Object.values(A).some((v) => a.includes(v)),
      `${a} holds a planning literal`,
    );
    assert.throws(() => filterSql(checked, null));
  }
});

test('refused filters: PgParquetInvalidWhere naming source.where, the value and what was refused', async () => {
  for (const [where, what] of REFUSED) {
    await assert.rejects(
      checkWhere(where, COLUMNS),
      (err: unknown) => {
        assert.ok(err instanceof PgParquetError, where);
        assert.equal(err.type, ErrorType.InvalidWhere, where);
        assert.equal(err.retryable, false);
        const d = err.details as { field: string; value: string; refused: string };
        assert.equal(d.field, 'source.where');
        assert.equal(d.value, where);
        assert.match(d.refused, what, where);
        return true;
      },
      where,
    );
  }
});

test('without the table columns, only the text is checked (any column name passes)', async () => {
  await checkWhere('whatever_column > 1');
  await assert.rejects(checkWhere('whatever_column > 1', COLUMNS), { type: ErrorType.InvalidWhere });
});
