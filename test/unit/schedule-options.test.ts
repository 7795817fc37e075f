/**
 * The pure checks behind `pg-parquet schedule …` and `export --schema`: cron expressions as the
 * Temporal server reads them, durations, the schedule plan from flags, backfill ranges, and the
 * export request (one table or several, full or incremental) from flags and `--input`. Errors by
 * type and field only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCronExpression } from '../../src/contract/cron-expression.js';
import { ErrorType, InputError } from '../../src/contract/errors.js';
import { exportRequestFromFlags, type ExportFlags } from '../../src/cli/export-options.js';
import { durationFlag } from '../../src/cli/flags.js';
import {
  backfillRange,
  checkScheduleId,
  schedulePlanFromFlags,
  type ScheduleCreateFlags,
} from '../../src/cli/schedule-options.js';
import { durationText } from '../../src/cli/schedule-view.js';

/** Asserts that `fn` throws an InputError of `type` naming `field`. */
function refuses(fn: () => unknown, field: string, type: string = ErrorType.InvalidInput): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, String(err));
    assert.equal(err.type, type);
    assert.equal(err.field, field);
    return true;
  });
}

const noLists = { include: [], exclude: [] } as const;
const to = 's3://bucket/prefix';

describe('cron expressions', () => {
  test('what the server accepts', () => {
    for (const c of [
      '0 2 * * *',
      '*/15 * * * *',
      '0 12 * * MON-WED,FRI',
      '0 0 1 jan,jul *',
      '30 6 * * 1-5',
      '0 0 * * 7',
      '5/10 * * * *',
      '0 0 1 1 * 2030',
      '30 0 2 * * * *',
      '@daily',
      '@hourly',
      '@every 90m',
      '@every 1d/2h',
      'CRON_TZ=Europe/Berlin 0 2 * * *',
      '0 2 * * * # nightly',
    ]) {
      assert.doesNotThrow(() => checkCronExpression(c, '--cron'), c);
    }
  });

  test('what it refuses, naming the field', () => {
    for (const c of [
      '',
      'not a cron',
      '61 * * * *',
      '0 24 * * *',
      '0 0 0 * *',
      '0 0 32 * *',
      '0 0 * 13 *',
      '0 0 * * 8',
      '0 0 ? * MON',
      '0 0 L * *',
      '*/0 * * * *',
      '5-1 * * * *',
      '1-2-3 * * * *',
      '* * * *',
      '* * * * * * * *',
      '@fortnightly',
      '@every abc',
      'TZ=Nowhere/Land 0 2 * * *',
      '0 0 1 1 * 1999',
    ]) {
      refuses(() => checkCronExpression(c, '--cron'), '--cron');
    }
  });
});

test('durations: whole s, m, h, d, at least the minimum', () => {
  assert.equal(durationFlag('1h', '--every'), 3_600_000);
  assert.equal(durationFlag('1d', '--every'), 86_400_000);
  assert.equal(durationFlag('1h30m', '--every'), 5_400_000);
  assert.equal(durationFlag('45s', '--every'), 45_000);
  for (const bad of ['abc', '', '1', '1.5h', '1w', '-1h', '0s', '1 h'])
    refuses(() => durationFlag(bad, '--every'), '--every');
  refuses(() => durationFlag('5s', '--catchup-window', 10_000), '--catchup-window');
  assert.equal(durationText(5_400_000), '1h30m');
  assert.equal(durationText(86_400_000), '1d');
});

describe('schedule create flags', () => {
  const flags = (f: Partial<ScheduleCreateFlags>): ScheduleCreateFlags => ({
    cron: [],
    ...noLists,
    to,
    ...f,
  });

  test('a table with --cron: its input, overlap SKIP by default (left to the library), pause on failure off', () => {
    const plan = schedulePlanFromFlags('public.events', flags({ cron: ['0 2 * * *'] }));
    assert.equal(plan.request.kind, 'table');
    assert.deepEqual(plan.request.input, { source: { table: 'public.events' }, destination: to });
    assert.deepEqual(plan.options.cron, ['0 2 * * *']);
    assert.equal(plan.options.overlap, undefined);
    assert.equal(plan.options.pauseOnFailure, false);
    assert.equal(plan.options.scheduleId, undefined);
  });

  test('--every with --offset, the policies and the id', () => {
    const plan = schedulePlanFromFlags(
      'public.events',
      flags({
        every: '1d',
        offset: '2h',
        overlap: 'buffer_one',
        catchupWindow: '1h',
        pauseOnFailure: true,
        scheduleId: 'nightly-events',
      }),
    );
    assert.deepEqual(plan.options.intervals, [{ every: 86_400_000, offset: 7_200_000 }]);
    assert.equal(plan.options.overlap, 'BUFFER_ONE');
    assert.equal(plan.options.catchupWindow, 3_600_000);
    assert.equal(plan.options.pauseOnFailure, true);
    assert.equal(plan.options.scheduleId, 'nightly-events');
  });

  test('--schema makes an exportTables schedule', () => {
    const plan = schedulePlanFromFlags(
      undefined,
      flags({ every: '1h', schema: 'sales', include: ['t_*'], exclude: ['t_tmp*'] }),
    );
    assert.equal(plan.request.kind, 'tables');
    assert.deepEqual(plan.request.input.source, { schema: 'sales', include: ['t_*'], exclude: ['t_tmp*'] });
  });

  test('refused before any call, each naming its flag', () => {
    refuses(() => schedulePlanFromFlags('public.e', flags({})), '--cron');
    refuses(() => schedulePlanFromFlags('public.e', flags({ cron: ['0 2 * * *'], every: '1h' })), '--every');
    refuses(() => schedulePlanFromFlags('public.e', flags({ cron: ['bad cron'] })), '--cron');
    refuses(() => schedulePlanFromFlags('public.e', flags({ every: 'abc' })), '--every');
    refuses(() => schedulePlanFromFlags('public.e', flags({ every: '1h', offset: '2h' })), '--offset');
    refuses(() => schedulePlanFromFlags('public.e', flags({ cron: ['@daily'], offset: '2h' })), '--offset');
    refuses(
      () => schedulePlanFromFlags('public.e', flags({ every: '1h', overlap: 'TERMINATE_OTHER' })),
      '--overlap',
    );
    refuses(
      () => schedulePlanFromFlags('public.e', flags({ every: '1h', catchupWindow: '5s' })),
      '--catchup-window',
    );
    refuses(
      () => schedulePlanFromFlags('public.e', flags({ every: '1h', timezone: 'Mars/Olympus' })),
      '--timezone',
    );
    refuses(
      () => schedulePlanFromFlags('public.e', flags({ every: '1h', scheduleId: 'has space' })),
      '--schedule-id',
    );
    refuses(
      () => schedulePlanFromFlags('public.e', flags({ every: '1h', to: 'ftp://x' })),
      'destination',
      ErrorType.InvalidDestination,
    );
  });

  test('--incremental and --lag: every scheduled run is incremental, with the same input fields as export', () => {
    const plan = schedulePlanFromFlags(
      'public.events',
      flags({ every: '1h', incremental: 'updated_at', lag: '5 minutes' }),
    );
    assert.equal(plan.request.kind, 'table');
    assert.deepEqual(plan.request.input, {
      source: { table: 'public.events' },
      destination: to,
      mode: 'incremental',
      incremental: { column: 'updated_at', lag: '5 minutes' },
    });
    refuses(() => schedulePlanFromFlags('public.e', flags({ every: '1h', lag: '10' })), 'mode');
    refuses(
      () => schedulePlanFromFlags('public.e', flags({ every: '1h', incremental: 'id', lag: '5 parsecs' })),
      'incremental.lag',
    );
  });

  test('an --input that fixes a runKey is refused: each run takes its scheduled time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-sched-'));
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify({ source: { table: 'public.e' }, destination: to, runKey: 'k1' }));
    refuses(
      () => schedulePlanFromFlags(undefined, flags({ every: '1h', input: file, to: undefined })),
      'runKey',
    );
  });
});

test('schedule ids: printable, no spaces', () => {
  assert.equal(
    checkScheduleId('pg-parquet-default-public.events', 'scheduleId'),
    'pg-parquet-default-public.events',
  );
  for (const bad of ['', 'a b', 'tab\there', 'x'.repeat(201)])
    refuses(() => checkScheduleId(bad, 'scheduleId'), 'scheduleId');
});

test('backfill ranges: ISO dates or times with an offset, in order, not in the future', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  assert.deepEqual(backfillRange({ from: '2022-01-01', to: '2024-01-01T00:00:00Z' }, now), {
    start: new Date('2022-01-01T00:00:00Z'),
    end: new Date('2024-01-01T00:00:00Z'),
  });
  assert.deepEqual(
    backfillRange({ from: '2024-01-01T02:00+02:00', to: '2024-01-01T00:00Z' }, now).start,
    new Date('2024-01-01T00:00:00Z'),
  );
  refuses(() => backfillRange({ to: '2024-01-01' }, now), '--from');
  refuses(() => backfillRange({ from: '2024-01-01' }, now), '--to');
  refuses(() => backfillRange({ from: 'yesterday', to: '2024-01-01' }, now), '--from');
  refuses(() => backfillRange({ from: '2024-02-30', to: '2024-03-01' }, now), '--from');
  refuses(() => backfillRange({ from: '2024-01-01T10:00:00', to: '2024-03-01' }, now), '--from');
  refuses(() => backfillRange({ from: '2024-03-01', to: '2024-01-01' }, now), '--from');
  refuses(() => backfillRange({ from: '2024-03-01', to: '2027-01-01' }, now), '--to');
});

describe('export request from flags', () => {
  const flags = (f: Partial<ExportFlags>): ExportFlags => ({ ...noLists, to, ...f });

  test('a table argument: exportTable; --schema: exportTables with include/exclude and concurrency', () => {
    const one = exportRequestFromFlags('public.events', flags({ partitions: 4 }));
    assert.equal(one.kind, 'table');
    assert.deepEqual(one.input, {
      source: { table: 'public.events' },
      destination: to,
      partitions: { count: 4 },
    });
    const several = exportRequestFromFlags(
      undefined,
      flags({
        schema: 'public',
        include: ['a_*', 'b_*'],
        exclude: ['a_tmp'],
        tablesConcurrency: 3,
        runKey: 'k1',
      }),
    );
    assert.equal(several.kind, 'tables');
    assert.deepEqual(several.input, {
      source: { schema: 'public', include: ['a_*', 'b_*'], exclude: ['a_tmp'] },
      destination: to,
      tables: { maxConcurrent: 3 },
      runKey: 'k1',
    });
  });

  test('--input: its fields stay unless a flag overrides them; source.schema in it means several tables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-input-'));
    const file = join(dir, 'run.json');
    writeFileSync(
      file,
      JSON.stringify({
        source: { connection: 'warehouse', schema: 'sales', exclude: ['tmp_*'] },
        destination: 's3://other/place',
        batch: { rows: 1000 },
      }),
    );
    const r = exportRequestFromFlags(undefined, flags({ input: file, batchRows: 500 }));
    assert.equal(r.kind, 'tables');
    assert.deepEqual(r.input, {
      source: { connection: 'warehouse', schema: 'sales', exclude: ['tmp_*'] },
      destination: to,
      batch: { rows: 500 },
    });
    // A table argument replaces the input's choice of tables.
    const t = exportRequestFromFlags('public.one', flags({ input: file }));
    assert.equal(t.kind, 'table');
    assert.deepEqual(t.input.source, { connection: 'warehouse', table: 'public.one' });
  });

  test('--incremental and --lag set mode, column and lag (digits as ids, else a duration)', () => {
    const ts = exportRequestFromFlags('public.t', flags({ incremental: 'updated_at', lag: '5 minutes' }));
    assert.equal(ts.kind, 'table');
    assert.equal(ts.resolved.mode, 'incremental');
    assert.deepEqual(ts.resolved.watermark, {
      column: 'updated_at',
      lag: { kind: 'duration', micros: 300_000_000, text: '5 minutes' },
    });
    const ids = exportRequestFromFlags('public.t', flags({ incremental: 'id', lag: '10' }));
    assert.equal(ids.kind, 'table');
    assert.deepEqual(ids.resolved.watermark?.lag, { kind: 'ids', amount: 10 });
    // --lag alone would be a full run that silently ignores it: refused, as for the input.
    refuses(() => exportRequestFromFlags('public.t', flags({ lag: '10' })), 'mode');
    // With --schema, every table's child run is incremental by that column.
    const several = exportRequestFromFlags(undefined, flags({ schema: 'public', incremental: 'updated_at' }));
    assert.equal(several.kind, 'tables');
    assert.deepEqual(several.resolved.common.incremental, { column: 'updated_at' });
    assert.equal(several.resolved.common.mode, 'incremental');
  });

  test('flags that belong to the other kind are refused, naming the flag', () => {
    refuses(() => exportRequestFromFlags('public.a', flags({ schema: 'public' })), '--schema');
    refuses(() => exportRequestFromFlags('public.a', flags({ include: ['x'] })), '--include');
    refuses(
      () => exportRequestFromFlags('public.a', flags({ tablesConcurrency: 2 })),
      '--tables-concurrency',
    );
    refuses(() => exportRequestFromFlags(undefined, flags({ schema: 'public', cursor: 'id' })), '--cursor');
    refuses(() => exportRequestFromFlags(undefined, flags({ schema: 'public', where: 'id > 1' })), '--where');
    refuses(() => exportRequestFromFlags(undefined, flags({ schema: 'bad schema' })), 'source.schema');
    refuses(
      () => exportRequestFromFlags(undefined, flags({ schema: 'public', include: [''] })),
      'source.include.0',
    );
  });
});
