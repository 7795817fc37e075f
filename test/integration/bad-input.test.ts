/**
 * The bad-input catalogue (issue 12): one table of inputs that must be refused, each run through
 * the whole exportTable workflow against the real services. Every case asserts the failure type
 * (terminal), the field it names, that no activity beyond planning ran (at most one attempt of
 * it), and that nothing was written under its destination. The `where` attacks of D2 also check
 * their side effect did not happen: the victim session lives, no file was written on the
 * database host, no NOTIFY arrived, and the other table's value is nowhere in the decoded history.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ErrorType } from '../../src/contract/errors.js';
import { historyText } from '../support/history-text.js';
import {
  expectExportFailure,
  SNAPSHOT_ACTIVITY,
  startHarness,
  type TemporalHarness,
} from '../support/temporal.js';
import { bucket, database, listObjects, s3, stack, uniquePrefix } from '../support/fixtures.js';

const TABLE = 'it_bad';
const SECRET_TABLE = 'it_bad_secret';
const SECRET = `topsecret-value-${randomUUID().slice(0, 8)}`;
/** A file lo_export would write on the database host (this machine). */
const LO_FILE = `/tmp/pg-parquet-lo-${randomUUID()}`;
const CHANNEL = `it_bad_${randomUUID().slice(0, 8)}`;

interface Case {
  readonly name: string;
  /** Fields merged into a valid input (`source` merged into the valid source). */
  readonly input: Record<string, unknown>;
  readonly type: string;
  /** The field the failure's details name. */
  readonly field?: string;
}

const W = (where: string, name = `where ${where}`): Case => ({
  name,
  input: { source: { where } },
  type: ErrorType.InvalidWhere,
  field: 'source.where',
});
const I = (name: string, input: Record<string, unknown>, field: string): Case => ({
  name,
  input,
  type: ErrorType.InvalidInput,
  field,
});
const src = (source: Record<string, unknown>) => ({ source });

const cases: Case[] = [
  // source.where: the attacks of issue 12 D2 and what else is not a row filter.
  W(
    'pg_terminate_backend(pg_backend_pid() + 0) OR pg_terminate_backend(%VICTIM%)',
    'where pg_terminate_backend(victim)',
  ),
  W(`lo_export(lo_from_bytea(0, 'x'), '${LO_FILE}') > 0`, 'where lo_export(...) to a file on the host'),
  W(`label = (SELECT v FROM ${SECRET_TABLE} LIMIT 1)`, 'where a subquery on another table'),
  W(`EXISTS (SELECT 1 FROM ${SECRET_TABLE} WHERE v = label)`, 'where EXISTS (subquery)'),
  W(`id IN (SELECT length(v) FROM ${SECRET_TABLE})`, 'where IN (subquery)'),
  W('pg_advisory_lock(42) IS NOT NULL'),
  W(`pg_notify('${CHANNEL}', 'x') IS NULL`, 'where pg_notify(...)'),
  W('pg_reload_conf()'),
  W(`pg_read_file('/etc/hostname') <> ''`),
  W('random() < 0.5'),
  W('ts < clock_timestamp()'),
  W('pg_sleep(0) IS NULL'),
  W(`set_config('search_path', 'x', true) <> ''`),
  W(`current_setting('data_directory') <> ''`),
  W('txid_current() > 0'),
  W(`nextval('x') > 0`),
  W(`${SECRET_TABLE}.v = label`, 'where a column of another relation'),
  W('public.my_function(id)', 'where a user function'),
  W(`'pg_authid'::regclass::oid > 0`, 'where a cast to regclass'),
  W('count(*) > 0', 'where an aggregate'),
  W('sum(id) OVER () > 0', 'where a window function'),
  W(`current_user = 'postgres'`),
  W('$1 > 0', 'where a parameter'),
  W(`ts > 'now'`, "where the time word 'now'"),
  W('no_such_column > 1', 'where a column the table does not have'),
  W('id + 1', 'where not boolean'),
  W('id > 0; DROP TABLE it_bad', 'where two statements'),
  W('id > 0 /* ; DROP TABLE it_bad */', 'where a comment hiding a second statement'),
  W('id > 0 -- ) OR (true', 'where a line comment'),
  W(`id > 0) UNION SELECT v FROM ${SECRET_TABLE} WHERE (true`, 'where closing the parenthesis'),
  W('id > 0 GROUP BY id', 'where with GROUP BY'),
  W('id > 0 ORDER BY 1', 'where with ORDER BY'),
  W('id > 0 LIMIT 1', 'where with LIMIT'),
  W('id > 0 FOR UPDATE', 'where FOR UPDATE'),
  W(`$$x$$ = label`, 'where a dollar-quoted string'),
  W('(id > 0', 'where unbalanced parentheses'),
  W(`label = 'x`, 'where an unterminated quote'),
  // source: other fields.
  I('where of another type (a number)', src({ where: 5 }), 'source.where'),
  I('where empty', src({ where: '' }), 'source.where'),
  I('where too long', src({ where: `id > 0${' AND id > 0'.repeat(1_000)}` }), 'source.where'),
  I('table of another type', src({ table: 42 }), 'source.table'),
  I('table empty', src({ table: '' }), 'source.table'),
  I('table with four name parts', src({ table: 'a.b.c.d' }), 'source.table'),
  {
    name: 'table that does not exist',
    input: src({ table: 'it_bad_missing' }),
    type: ErrorType.TableNotFound,
  },
  I('cursor of another type', src({ cursor: 1 }), 'source.cursor'),
  {
    name: 'cursor not a column',
    input: src({ cursor: 'nope' }),
    type: ErrorType.ColumnNotFound,
    field: 'source.cursor',
  },
  {
    name: 'cursor of an unsupported type (jsonb: no order)',
    input: src({ cursor: 'doc' }),
    type: ErrorType.UnsupportedCursor,
    field: 'source.cursor',
  },
  I('columns not a list', src({ columns: 'id' }), 'source.columns'),
  I('columns empty', src({ columns: [] }), 'source.columns'),
  I('columns repeated', src({ columns: ['id', 'id'] }), 'source.columns'),
  {
    name: 'columns naming a missing column',
    input: src({ columns: ['id', 'nope'] }),
    type: ErrorType.ColumnNotFound,
    field: 'source.columns[1]',
  },
  I('an unknown source field', src({ query: 'SELECT 1' }), 'source.query'),
  // connections
  I('connection of another type', src({ connection: 7 }), 'source.connection'),
  I('connection a DSN', src({ connection: 'postgres://u:p@h/db' }), 'source.connection'),
  {
    name: 'connection that is not configured',
    input: src({ connection: 'it_bad_nowhere' }),
    type: ErrorType.ConnectionNotConfigured,
  },
  // destinations
  I('destination of another type', { destination: 3 }, 'destination'),
  ...[
    '',
    'ftp://host/x',
    'relative/path',
    's3://',
    's3://Bad_Bucket/x',
    'file://host/x',
    'file:///proc/self/x',
  ].map(
    (destination): Case => ({
      name: `destination ${JSON.stringify(destination)}`,
      input: { destination },
      type: destination === '' ? ErrorType.InvalidInput : ErrorType.InvalidDestination,
      field: 'destination',
    }),
  ),
  // names and ranges of the other fields
  I('runKey with a slash', { runKey: 'a/b' }, 'runKey'),
  I('runKey too long', { runKey: 'k'.repeat(65) }, 'runKey'),
  I('runKey of another type', { runKey: 5 }, 'runKey'),
  I('mode unknown', { mode: 'partial' }, 'mode'),
  I('partitions.count zero', { partitions: { count: 0 } }, 'partitions.count'),
  I('partitions.count fractional', { partitions: { count: 1.5 } }, 'partitions.count'),
  I('partitions.count a string', { partitions: { count: '4' } }, 'partitions.count'),
  I('partitions.targetBytes negative', { partitions: { targetBytes: -1 } }, 'partitions.targetBytes'),
  I(
    'partitions.maxConcurrent too large',
    { partitions: { maxConcurrent: 2001 } },
    'partitions.maxConcurrent',
  ),
  I('partitions.strategy unknown', { partitions: { strategy: 'random' } }, 'partitions.strategy'),
  I('batch.rows zero', { batch: { rows: 0 } }, 'batch.rows'),
  I('batch.rows too large', { batch: { rows: 10_000_001 } }, 'batch.rows'),
  I('batch.bytes too large', { batch: { bytes: 2 ** 31 } }, 'batch.bytes'),
  I('transform.timestampUnit unknown', { transform: { timestampUnit: 'ns' } }, 'transform.timestampUnit'),
  I(
    'transform.extractedAtColumn not a name',
    { transform: { extractedAtColumn: 'a b' } },
    'transform.extractedAtColumn',
  ),
  I(
    'transform.extractionIdColumn equal to extractedAtColumn',
    { transform: { extractedAtColumn: 'x', extractionIdColumn: 'x' } },
    'transform.extractionIdColumn',
  ),
  I('transform.infinity unknown', { transform: { infinity: 'clamp-ish' } }, 'transform.infinity'),
  I(
    'transform.numericAsString not a boolean',
    { transform: { numericAsString: 'yes' } },
    'transform.numericAsString',
  ),
  I(
    'transform.unconstrainedNumeric not a decimal type',
    { transform: { unconstrainedNumeric: 'decimal(99,2)' } },
    'transform.unconstrainedNumeric',
  ),
  I('parquet.compression unknown', { parquet: { compression: 'lzo' } }, 'parquet.compression'),
  I('parquet.rowGroupRows zero', { parquet: { rowGroupRows: 0 } }, 'parquet.rowGroupRows'),
  I('verify unknown', { verify: 'all' }, 'verify'),
  I('consistency unknown', { consistency: 'serializable' }, 'consistency'),
  I('compaction.enabled not a boolean', { compaction: { enabled: 1 } }, 'compaction.enabled'),
  I('compaction.targetFileBytes zero', { compaction: { targetFileBytes: 0 } }, 'compaction.targetFileBytes'),
  I('compaction.mode unknown', { compaction: { mode: 'merge' } }, 'compaction.mode'),
  I('an unknown top-level field', { sql: 'DROP TABLE it_bad' }, 'sql'),
];

describe('bad input is refused, typed, before any work (table-driven)', () => {
  let db: pg.Client;
  let victim: pg.Client;
  let listener: pg.Client;
  let victimPid: number;
  let harness: TemporalHarness;
  const notifications: string[] = [];

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS ${TABLE}, ${SECRET_TABLE};
      CREATE TABLE ${TABLE} (id int PRIMARY KEY, label text NOT NULL, ts timestamptz NOT NULL DEFAULT now(), doc jsonb);
      INSERT INTO ${TABLE} (id, label) SELECT g, g::text FROM generate_series(1, 100) g;
      CREATE TABLE ${SECRET_TABLE} (v text);
      INSERT INTO ${SECRET_TABLE} VALUES ('${SECRET}');`);
    victim = await database();
    victimPid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    listener = await database();
    listener.on('notification', (n) => notifications.push(n.channel));
    await listener.query(`LISTEN ${CHANNEL}`);
    harness = await startHarness();
  });

  after(async () => {
    await harness?.close();
    await db?.query(`DROP TABLE IF EXISTS ${TABLE}, ${SECRET_TABLE}`);
    for (const c of [db, victim, listener]) await c?.end().catch(() => undefined);
  });

  test('the catalogue has at least 60 cases', () => {
    assert.ok(cases.length >= 60, `${cases.length} cases`);
  });

  for (const c of cases) {
    test(c.name, async () => {
      const prefix = uniquePrefix('bad-input');
      const patch = JSON.parse(JSON.stringify(c.input).replaceAll('%VICTIM%', String(victimPid))) as Record<
        string,
        unknown
      >;
      const input = {
        destination: `s3://${bucket()}/${prefix}`,
        partitions: { count: 2 },
        ...patch,
        source: { table: TABLE, ...(patch.source as Record<string, unknown> | undefined) },
      };
      const run = await expectExportFailure(harness, input);
      assert.equal(run.failure.type, c.type, run.failure.message);
      assert.equal(run.failure.nonRetryable, true);
      if (c.field) assert.equal((run.failure.details?.[0] as { field?: string }).field, c.field);
      const activities = (run.history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n): n is string => n !== undefined && n !== null && n !== SNAPSHOT_ACTIVITY);
      assert.ok(
        activities.every((n) => n === 'pgParquetPlan') && activities.length <= 1,
        `no activity beyond planning, once: ${activities.join(', ')}`,
      );
      const attempts = (run.history.events ?? [])
        .map((e) => e.activityTaskStartedEventAttributes?.attempt)
        .filter((a) => a !== undefined && a !== null);
      assert.ok(
        attempts.every((a) => a === 1),
        'every activity ran one attempt',
      );
      assert.deepEqual([...(await listObjects(s3(), prefix)).keys()], [], 'nothing was written');
      assert.ok(!historyText(run.history).includes(SECRET), "the other table's value is not in the history");
    });
  }

  test('the attacks had no effect: the victim lives, no file on the host, no NOTIFY', async () => {
    assert.deepEqual((await victim.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }]);
    assert.equal(existsSync(LO_FILE), false, 'lo_export wrote nothing');
    await listener.query('SELECT 1');
    assert.deepEqual(notifications, [], 'no notification was sent');
  });
});
