/** Bad input and terminal source errors fail fast, typed, and write nothing. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import {
  expectExportFailure,
  scheduledActivities,
  startHarness,
  type TemporalHarness,
} from '../support/temporal.js';
import { bucket, database, listObjects, s3, stack, uniquePrefix } from '../support/fixtures.js';

describe('exportTable refuses bad input before any work', () => {
  let harness: TemporalHarness;
  let db: pg.Client;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_errors; CREATE TABLE it_errors (id int PRIMARY KEY, label text, at timestamptz, doc jsonb);
                    INSERT INTO it_errors SELECT g, 'l' || g, now() FROM generate_series(1, 10) g;`);
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
    await db?.end();
  });

  /** Runs the workflow, expects failure, returns the ApplicationFailure and the activity count. */
  async function failure(input: unknown): Promise<{ failure: ApplicationFailure; activities: number }> {
    const run = await expectExportFailure(harness, input);
    return { failure: run.failure, activities: scheduledActivities(run.history) };
  }

  const destination = () => `s3://${bucket()}/${uniquePrefix('errors')}`;

  test('invalid fields fail in the workflow itself, naming the field', async () => {
    const cases: [unknown, string, string][] = [
      [
        { source: { table: 'it_errors' }, destination: 'ftp://x' },
        ErrorType.InvalidDestination,
        'destination',
      ],
      [
        { source: { table: 'it_errors' }, destination: destination(), batch: { rows: 0 } },
        ErrorType.InvalidInput,
        'batch.rows',
      ],
      [{ source: { table: 'a.b.c' }, destination: destination() }, ErrorType.InvalidInput, 'source.table'],
      [
        { source: { table: 'it_errors', where: 'true; DROP TABLE it_errors' }, destination: destination() },
        ErrorType.InvalidWhere,
        'source.where',
      ],
    ];
    for (const [input, type, field] of cases) {
      const { failure: f, activities } = await failure(input);
      assert.equal(f.type, type);
      assert.equal(f.nonRetryable, true);
      assert.equal((f.details?.[0] as { field?: string } | undefined)?.field, field);
      assert.equal(activities, 0, 'no activity was scheduled');
    }
  });

  test('terminal source errors are typed, not retried, and store nothing', async () => {
    const client = s3();
    const cases: [Record<string, unknown>, string][] = [
      [{ table: 'public.no_such_table' }, ErrorType.TableNotFound],
      [{ table: 'it_errors', cursor: 'nope' }, ErrorType.ColumnNotFound],
      [{ table: 'it_errors', cursor: 'doc' }, ErrorType.UnsupportedCursor],
      [{ table: 'it_errors', columns: ['id', 'missing'] }, ErrorType.ColumnNotFound],
      [{ table: 'it_errors', where: 'label' }, ErrorType.InvalidWhere],
      [{ table: 'it_errors', where: 'no_column > 1' }, ErrorType.InvalidWhere],
      [{ table: 'it_errors', connection: 'missing' }, ErrorType.ConnectionNotConfigured],
    ];
    for (const [source, type] of cases) {
      const prefix = uniquePrefix('errors');
      const { failure: f, activities } = await failure({ source, destination: `s3://${bucket()}/${prefix}` });
      assert.equal(f.type, type, JSON.stringify(source));
      // An unknown connection name fails where the run first connects: taking its snapshot.
      const planned = source.connection === 'missing' ? 0 : 1;
      assert.equal(activities, planned, 'at most the planning activity ran, once');
      assert.equal((await listObjects(client, prefix)).size, 0, 'nothing was written');
    }
  });

  test('a where filter that writes (nextval) is refused before it reaches the server, and writes nothing', async () => {
    await db.query('DROP SEQUENCE IF EXISTS it_errors_seq; CREATE SEQUENCE it_errors_seq');
    const prefix = uniquePrefix('errors');
    const { failure: f } = await failure({
      source: { table: 'it_errors', where: "nextval('it_errors_seq') > 0" },
      destination: `s3://${bucket()}/${prefix}`,
    });
    // The where checker refuses the volatile call; READ ONLY extraction (25006) stays behind it.
    assert.equal(f.type, ErrorType.InvalidWhere);
    assert.equal((f.details?.[0] as { field?: string } | undefined)?.field, 'source.where');
    const seq = await db.query<{ is_called: boolean }>('SELECT is_called FROM it_errors_seq');
    assert.equal(seq.rows[0]?.is_called, false, 'the sequence never advanced');
  });
});
