/**
 * Values Parquet cannot hold, through the whole workflow: refused by default with a typed error
 * and no data file; accepted by the option the error names (new runKey), read back by DuckDB and
 * compared with what PostgreSQL computes for the same rows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import type { ExportTableInput } from '../../src/contract/export-input.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { bucket, database, download, listObjects, s3, stack, uniquePrefix } from '../support/fixtures.js';
import { parquetSchema, queryParquet } from '../support/parquet-reader.js';

const TABLE = 'it_type_options';

describe('transform options for values Parquet cannot hold', () => {
  let harness: TemporalHarness;
  let db: pg.Client;
  const prefix = uniquePrefix('type-options');
  const destination = () => `s3://${bucket()}/${prefix}`;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS ${TABLE};
      CREATE TABLE ${TABLE} (id int PRIMARY KEY, d date NOT NULL, ts timestamptz, amount numeric(8,2), free numeric);
      INSERT INTO ${TABLE} SELECT g, date '2020-01-01' + g, timestamptz '2020-01-01 00:00+00' + g * interval '1 hour',
                                  g / 4.0, g / 8.0
                             FROM generate_series(1, 500) g;
      UPDATE ${TABLE} SET ts = 'infinity' WHERE id = 300;
      UPDATE ${TABLE} SET d = '-infinity', ts = '-infinity' WHERE id = 301;`);
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
    await db?.end();
  });

  const run = (runKey: string, extra: Partial<ExportTableInput> = {}) =>
    harness.client.workflow.execute('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId: `it-type-options-${randomUUID()}`,
      args: [
        {
          source: { table: TABLE },
          destination: destination(),
          runKey,
          partitions: { count: 2 },
          batch: { rows: 100 },
          ...extra,
        } satisfies ExportTableInput,
      ],
    }) as Promise<ExportTableResult>;

  /** The data files of a run, downloaded for DuckDB. */
  async function dataFiles(runKey: string): Promise<string[]> {
    const keys = [...(await listObjects(s3(), prefix)).keys()].filter((k) =>
      new RegExp(`run=${runKey}/part-[0-9]+\\.parquet$`).test(k),
    );
    return download(
      s3(),
      keys.map((k) => `${prefix}/${k}`),
    );
  }

  async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => assert.fail('the export should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    let cause: unknown = err.cause;
    while (cause && !(cause instanceof ApplicationFailure && cause.type)) cause = (cause as Error).cause;
    assert.ok(cause instanceof ApplicationFailure, String(err.cause));
    return cause;
  }

  test('infinity is refused by default: typed, names column, cursor and option; no data file', async () => {
    const f = await failureOf(run('refused', { batch: { rows: 1000 } }));
    assert.equal(f.type, ErrorType.UnsupportedValue);
    assert.equal(f.nonRetryable, true);
    const details = f.details?.[0] as Record<string, unknown>;
    assert.equal(details.column, 'ts');
    assert.equal(details.cursor, '300');
    assert.equal(details.option, 'transform.infinity');
    const objects = [...(await listObjects(s3(), prefix)).keys()].filter((k) => k.includes('run=refused/'));
    assert.deepEqual(
      objects.filter(
        (k) => /\/part-\d{5}\.parquet$/.test(k) || k.endsWith('_manifest.json') || k.endsWith('_SUCCESS'),
      ),
      [],
    );
    // One batch per partition here: a finished partition stored one file, the failing one none.
    const raw = objects.filter((k) => k.includes('/_raw/') && k.endsWith('.parquet'));
    const done = objects.filter((k) => k.includes('/_partitions/'));
    assert.ok(done.length < 2, 'the partition holding the value did not finish');
    assert.equal(raw.length, done.length, 'no batch of the failing partition is stored');

    // Same runKey with the option: the stored plan was made without it, so it is refused.
    const mismatch = await failureOf(
      run('refused', { batch: { rows: 1000 }, transform: { infinity: 'clamp' } }),
    );
    assert.equal(mismatch.type, ErrorType.PlanMismatch);
  });

  test('every other rejected value: typed error naming column, cursor and option; nothing stored', async () => {
    const table = `${TABLE}_rejects`;
    await db.query(`DROP TABLE IF EXISTS ${table};
      CREATE TABLE ${table} (id int PRIMARY KEY, ts timestamptz, amount numeric(8,2), free numeric, ia int[]);
      INSERT INTO ${table} SELECT g, timestamptz '2020-01-01 00:00+00', 1.5, 2.5, '{1}' FROM generate_series(1, 50) g;`);
    const cases: [string, string, string, Partial<ExportTableInput>][] = [
      ['amount', "'NaN'", 'transform.numericAsString', {}],
      ['ia', "'{{1,2},{3,4}}'", 'transform.arraysAsText', {}],
      ['ts', "'294276-12-31 23:59:59.999999+00'", 'transform.timestampUnit', {}],
      [
        'free',
        '123456.5',
        'transform.numericAsString',
        { transform: { unconstrainedNumeric: 'decimal(6,1)' } },
      ],
    ];
    for (const [column, literal, option, extra] of cases) {
      const runKey = `rejected-${column}`;
      await db.query(`UPDATE ${table} SET ${column} = ${literal} WHERE id = 42`);
      const f = await failureOf(
        harness.client.workflow.execute('exportTable', {
          taskQueue: harness.taskQueue,
          workflowId: `it-type-options-${randomUUID()}`,
          args: [
            { source: { table }, destination: destination(), runKey, partitions: { count: 1 }, ...extra },
          ],
        }),
      );
      assert.equal(f.type, ErrorType.UnsupportedValue, column);
      assert.equal(f.nonRetryable, true);
      const details = f.details?.[0] as Record<string, unknown>;
      assert.deepEqual([details.column, details.cursor, details.option], [column, '42', option]);
      const stored = [...(await listObjects(s3(), prefix)).keys()].filter(
        (k) => k.includes(`run=${runKey}/`) && k.endsWith('.parquet'),
      );
      assert.deepEqual(stored, [], `no Parquet object for ${column}`);
      await db.query(
        `UPDATE ${table} SET ts = '2020-01-01 00:00+00', amount = 1.5, free = 2.5, ia = '{1}' WHERE id = 42`,
      );
    }
  });

  test('infinity "clamp" writes the nearest of 0001-01-01 and 9999-12-31, as least/greatest say', async () => {
    const result = await run('clamped', { transform: { infinity: 'clamp' } });
    assert.equal(result.rows, 500);
    const paths = await dataFiles('clamped');
    const got = await queryParquet(
      paths,
      `SELECT id, (d - DATE '1970-01-01')::BIGINT::VARCHAR AS d, epoch_us(ts)::VARCHAR AS ts FROM read_parquet($files) ORDER BY id`,
    );
    const want = (
      await db.query(`SELECT id,
          (least(greatest(d, '0001-01-01'), '9999-12-31') - date '1970-01-01')::text AS d,
          (extract(epoch FROM least(greatest(ts, '0001-01-01 00:00+00'), '9999-12-31 23:59:59.999999+00')) * 1000000)::bigint::text AS ts
        FROM ${TABLE} ORDER BY id`)
    ).rows;
    assert.deepEqual(got, want);
    assert.equal(got[299]!.ts, '253402300799999999');
  });

  test('infinity "null" writes NULL (nullable columns); numericAsString keeps NaN as text', async () => {
    await db.query(`UPDATE ${TABLE} SET amount = 'NaN' WHERE id = 7`);
    try {
      const result = await run('nulled', { transform: { infinity: 'null', numericAsString: true } });
      assert.equal(result.rows, 500);
      const paths = await dataFiles('nulled');
      const schema = await parquetSchema(paths[0]!);
      assert.equal(schema.get('amount')?.type, 'BYTE_ARRAY');
      const got = await queryParquet(
        paths,
        `SELECT id, d IS NULL AS d_null, ts IS NULL AS ts_null, amount FROM read_parquet($files) ORDER BY id`,
      );
      const want = (
        await db.query(
          `SELECT id, NOT isfinite(d) AS d_null, NOT coalesce(isfinite(ts), false) AS ts_null, amount::text AS amount
             FROM ${TABLE} ORDER BY id`,
        )
      ).rows;
      assert.deepEqual(got, want);
      assert.equal(got[6]!.amount, 'NaN');
    } finally {
      await db.query(`UPDATE ${TABLE} SET amount = 7 / 4.0 WHERE id = 7`);
    }
  });
  test('timestampUnit "ms" and renamed metadata columns: the Parquet logical types DuckDB reads', async () => {
    await run('ms-types', {
      transform: {
        infinity: 'null',
        timestampUnit: 'ms',
        extractedAtColumn: 'loaded_at',
        extractionIdColumn: 'load_id',
      },
    });
    const [path] = await dataFiles('ms-types');
    const schema = await parquetSchema(path!);
    const logical = (c: string) => schema.get(c)?.logical ?? `no column ${c}`;
    assert.match(logical('ts'), /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS/);
    assert.match(logical('loaded_at'), /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS/);
    assert.equal(schema.get('loaded_at')?.type, 'INT64');
    assert.match(logical('load_id'), /StringType|UTF8/);
    assert.match(logical('d'), /DateType|DATE/);
    assert.equal(schema.has('_extracted_at'), false);
    const [row] = await queryParquet(
      [path!],
      `SELECT DISTINCT load_id, loaded_at IS NOT NULL AS has_time FROM read_parquet($files)`,
    );
    assert.deepEqual(row, { load_id: 'ms-types', has_time: true });
  });
});
