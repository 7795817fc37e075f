/**
 * `transform.uuidAs: "uuid"` and `transform.jsonAs: "json"` through the whole workflow to MinIO:
 * the Parquet UUID (FIXED_LEN_BYTE_ARRAY(16)) and JSON logical types as DuckDB's own Parquet reader
 * sees them in every kind of file we write (compacted by concatenation, rewritten by the streaming
 * writer, the zero-row file of an empty run), each value compared with PostgreSQL's text of it;
 * the default stays strings; the options are kept in the plan and shown in the manifest.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import type { ExportTableInput } from '../../src/contract/export-input.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import {
  bucket,
  database,
  download,
  getObject,
  listObjects,
  objectVersions,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';
import { parquetSchema, queryParquet } from '../support/parquet-reader.js';

const TABLE = 'it_logical_types';

/** PostgreSQL's text of every value: what the Parquet values must read back as. */
const EXPECTED = `SELECT id, u::text AS u, us::text[] AS us, j::text AS j, jb::text AS jb, jbs::text[] AS jbs
  FROM ${TABLE} ORDER BY id`;

/** The same columns as DuckDB reads them back, as text (a UUID column prints its canonical form). */
const READ_BACK = `SELECT id, u::VARCHAR AS u, us::VARCHAR[] AS us, j::VARCHAR AS j, jb::VARCHAR AS jb,
  jbs::VARCHAR[] AS jbs FROM read_parquet($files) ORDER BY id`;

describe('transform.uuidAs and transform.jsonAs: Parquet UUID and JSON logical types', () => {
  let harness: TemporalHarness;
  let db: pg.Client;
  let expected: Record<string, unknown>[];
  const prefix = uniquePrefix('logical-types');
  const destination = () => `s3://${bucket()}/${prefix}`;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS ${TABLE};
      CREATE TABLE ${TABLE} (id int PRIMARY KEY, u uuid, us uuid[], j json, jb jsonb, jbs jsonb[]);
      INSERT INTO ${TABLE}
      SELECT g, md5(g::text)::uuid, ARRAY[md5((g + 1)::text)::uuid, NULL, md5((g + 2)::text)::uuid],
             json_build_object('n', g, 's', 'ünï ' || g, 'a', json_build_array(g, null, true)),
             jsonb_build_object('n', g * 1.5, 'nested', jsonb_build_object('x', g)),
             ARRAY[jsonb_build_object('i', g), 'null'::jsonb]
        FROM generate_series(1, 700) g;
      INSERT INTO ${TABLE} VALUES
        (-3, '00000000-0000-0000-0000-000000000000', '{}', '  {"spaces" :  1}  ', '[]', '{}'),
        (-2, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{ffffffff-ffff-ffff-ffff-ffffffffffff}', '"text"', '"😀"', NULL),
        (-1, NULL, NULL, NULL, NULL, NULL);
      ANALYZE ${TABLE};`);
    expected = (await db.query(EXPECTED)).rows as Record<string, unknown>[];
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
    await db?.end();
  });

  const run = (runKey: string, extra: Partial<ExportTableInput> = {}) =>
    harness.client.workflow.execute('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId: `it-logical-types-${randomUUID()}`,
      args: [
        {
          source: { table: TABLE, cursor: 'id' },
          destination: destination(),
          runKey,
          partitions: { count: 2 },
          batch: { rows: 150 },
          ...extra,
        } satisfies ExportTableInput,
      ],
    }) as Promise<ExportTableResult>;

  async function runFiles(runKey: string): Promise<{ data: string[]; manifest: Record<string, unknown> }> {
    const keys = [...(await listObjects(s3(), prefix)).keys()];
    const data = keys.filter((k) => new RegExp(`run=${runKey}/part-[0-9-]+\\.parquet$`).test(k));
    const [manifestPath] = await download(
      s3(),
      keys.filter((k) => k.endsWith(`run=${runKey}/_manifest.json`)).map((k) => `${prefix}/${k}`),
    );
    assert.ok(manifestPath, `run ${runKey} has a manifest`);
    return {
      data: await download(
        s3(),
        data.map((k) => `${prefix}/${k}`),
      ),
      manifest: JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>,
    };
  }

  const arrowTypes = (manifest: Record<string, unknown>) =>
    Object.fromEntries(
      (manifest.columns as { name: string; arrowType: string }[]).map((c) => [c.name, c.arrowType]),
    );

  /** Physical and logical type of each of the table's columns, as DuckDB reads the footer. */
  async function types(file: string): Promise<Record<string, string>> {
    const schema = await parquetSchema(file);
    const of = (name: string) => {
      const s = schema.get(name);
      return s ? `${s.type} ${s.logical}`.trim() : 'missing';
    };
    // List elements are named `item` (u's and jbs' alike): DuckDB lists them in schema order.
    return { u: of('u'), j: of('j'), jb: of('jb') };
  }

  test('the default writes strings: uuid as its canonical text, json and jsonb as text', async () => {
    const result = await run('strings');
    assert.equal(result.rows, expected.length);
    const { data, manifest } = await runFiles('strings');
    assert.deepEqual(await types(data[0]!), {
      u: 'BYTE_ARRAY StringType()',
      j: 'BYTE_ARRAY StringType()',
      jb: 'BYTE_ARRAY StringType()',
    });
    const t = arrowTypes(manifest);
    assert.deepEqual([t.u, t.us, t.j, t.jb, t.jbs], ['Utf8', 'List<Utf8>', 'Utf8', 'Utf8', 'List<Utf8>']);
    assert.deepEqual(await queryParquet(data, READ_BACK), expected);
  });

  for (const mode of ['concat', 'rewrite'] as const) {
    test(`uuidAs "uuid", jsonAs "json", compaction ${mode}: UUID and JSON logical types, values equal PostgreSQL's`, async () => {
      const runKey = `typed-${mode}`;
      const result = await run(runKey, {
        transform: { uuidAs: 'uuid', jsonAs: 'json' },
        compaction: { mode, targetFileBytes: 1 << 30 },
      });
      assert.equal(result.rows, expected.length);
      const { data, manifest } = await runFiles(runKey);
      assert.equal(data.length, 1);
      assert.deepEqual(await types(data[0]!), {
        u: 'FIXED_LEN_BYTE_ARRAY UUIDType()',
        j: 'BYTE_ARRAY JsonType()',
        jb: 'BYTE_ARRAY JsonType()',
      });
      // The list elements carry the logical types too.
      const items = (
        await queryParquet(
          [],
          `SELECT type, coalesce(logical_type, '') AS logical FROM parquet_schema('${data[0]!}') WHERE name = 'item'`,
        )
      ).map((r) => `${String(r.type)} ${String(r.logical)}`);
      assert.deepEqual(items, ['FIXED_LEN_BYTE_ARRAY UUIDType()', 'BYTE_ARRAY JsonType()']);
      const t = arrowTypes(manifest);
      assert.deepEqual(
        [t.u, t.us, t.j, t.jb, t.jbs],
        [
          'FixedSizeBinary(16) arrow.uuid',
          'List<FixedSizeBinary(16) arrow.uuid>',
          'Utf8 arrow.json',
          'Utf8 arrow.json',
          'List<Utf8 arrow.json>',
        ],
      );
      const [typed] = await queryParquet(
        data,
        `SELECT typeof(u) AS u, typeof(us) AS us, typeof(jb) AS jb FROM read_parquet($files) LIMIT 1`,
      );
      assert.deepEqual(typed, { u: 'UUID', us: 'UUID[]', jb: 'JSON' });
      assert.deepEqual(await queryParquet(data, READ_BACK), expected);
    });
  }

  test('an empty run with the options: the zero-row data file has the logical types too', async () => {
    const result = await run('typed-empty', {
      source: { table: TABLE, cursor: 'id', where: 'id > 100000' },
      transform: { uuidAs: 'uuid', jsonAs: 'json' },
    });
    assert.equal(result.rows, 0);
    const { data } = await runFiles('typed-empty');
    assert.equal(data.length, 1);
    assert.deepEqual(await types(data[0]!), {
      u: 'FIXED_LEN_BYTE_ARRAY UUIDType()',
      j: 'BYTE_ARRAY JsonType()',
      jb: 'BYTE_ARRAY JsonType()',
    });
  });

  test('the options are part of the plan (version 5, which earlier workers refuse): the same runKey with other ones is refused, typed', async () => {
    const plan = async (runKey: string) =>
      JSON.parse(
        Buffer.from(await getObject(s3(), `${prefix}/public.${TABLE}/run=${runKey}/_plan.json`)).toString(
          'utf8',
        ),
      ) as { version: number; typeOptions: Record<string, unknown> };
    const typed = await plan('typed-concat');
    assert.equal(typed.version, 5);
    assert.deepEqual([typed.typeOptions.uuidAs, typed.typeOptions.jsonAs], ['uuid', 'json']);
    const strings = await plan('strings');
    // At the defaults the options are left out, so plans stored before they existed compare equal.
    assert.equal('uuidAs' in strings.typeOptions || 'jsonAs' in strings.typeOptions, false);

    const err = await run('typed-concat', { compaction: { targetFileBytes: 1 << 30 } }).then(
      () => assert.fail('a re-run with other type options should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    let cause: unknown = err.cause;
    while (cause && !(cause instanceof ApplicationFailure && cause.type)) cause = (cause as Error).cause;
    assert.ok(cause instanceof ApplicationFailure, String(err.cause));
    assert.equal(cause.type, ErrorType.PlanMismatch);
    // With the same options it verifies the finished run again and rewrites nothing.
    const folder = `${prefix}/public.${TABLE}/run=typed-concat`;
    const before = await objectVersions(s3(), folder);
    assert.ok(before.size > 3, 'the finished run is stored');
    const again = await run('typed-concat', {
      transform: { uuidAs: 'uuid', jsonAs: 'json' },
      compaction: { mode: 'concat', targetFileBytes: 1 << 30 },
    });
    assert.equal(again.rows, expected.length);
    assert.deepEqual(await objectVersions(s3(), folder), before, 'no object rewritten');
  });

  test('bad values of the options are refused before any work, naming the field', async () => {
    for (const [field, transform] of [
      ['transform.uuidAs', { uuidAs: 'binary' }],
      ['transform.jsonAs', { jsonAs: 'jsonb' }],
    ] as const) {
      const err = await run(`bad-${field}`, { transform: transform as never }).then(
        () => assert.fail(`${field} should be refused`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = err.cause;
      assert.ok(cause instanceof ApplicationFailure, String(cause));
      assert.equal(cause.type, ErrorType.InvalidInput);
      assert.equal((cause.details?.[0] as Record<string, unknown>).field, field);
    }
  });
});
