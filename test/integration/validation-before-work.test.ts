/**
 * Problems found before any work, through the whole exportTable workflow against the real
 * services: each case fails with its type after at most one attempt of the planning activity,
 * before the source is read, and leaves nothing under the destination (no plan). Then the
 * cases that run further on purpose: a where filter that fails on a row during COPY, two
 * tables whose display names are equal, and an empty result.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import { parseDestination } from '../../src/contract/destination-url.js';
import { parseQualifiedName } from '../../src/contract/table-name.js';
import type { Manifest } from '../../src/run/manifest.js';
import { openObjectStore } from '../../src/storage/destination.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { S3ObjectStore } from '../../src/storage/s3-store.js';
import { exportWorkflowId } from '../../workflows/run-key.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { parquetSchema, queryParquet } from '../support/parquet-reader.js';
import {
  expectExportFailure,
  SNAPSHOT_ACTIVITY,
  startHarness,
  type TemporalHarness,
} from '../support/temporal.js';
import {
  bucket,
  database,
  download,
  getObject,
  listObjects,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';

const TABLE = 'it_valid';
/** Rows of TABLE; row BAD_ROW's label does not cast to int (and must never appear in an error). */
const ROWS = 10_000;
const BAD_ROW = 5_000;
const BAD_LABEL = `not-a-number-${BAD_ROW}`;

/** Every activity of a run, from its ActivityTaskStarted events: type and final attempt. */
function activitiesOf(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): [string, number][] {
  const events = history.events ?? [];
  const typeOf = new Map<string, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) typeOf.set(String(e.eventId), name);
  }
  const out: [string, number][] = [];
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    const name = started && (typeOf.get(String(started.scheduledEventId)) ?? '?');
    if (started && name !== SNAPSHOT_ACTIVITY) out.push([name!, started.attempt ?? 0]);
  }
  const others = [...typeOf.values()].filter((n) => n !== SNAPSHOT_ACTIVITY).length;
  assert.equal(out.length, others, 'every scheduled activity started');
  return out;
}

/** Files below a local folder (none when it does not exist). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

/** Runs a command; false when it fails (not root, no such capability). */
function tryRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('exportTable refuses what cannot work before reading the source', () => {
  let db: pg.Client;
  let harness: TemporalHarness;
  const work = mkdtempSync(join(tmpdir(), 'pg-parquet-valid-'));
  const cleanups: (() => void)[] = [];
  /** Destination prefix → the S3 client its store uses (others: the production store). */
  const clients = new Map<string, S3Client>();
  const openStore = (url: string): ObjectStore => {
    const dest = parseDestination(url);
    const client = dest.scheme === 's3' ? clients.get(`${dest.bucket}/${dest.prefix}`) : undefined;
    return client && dest.scheme === 's3'
      ? new S3ObjectStore({ bucket: dest.bucket, prefix: dest.prefix, client })
      : openObjectStore(url);
  };

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_valid, it_valid_loaded, it_valid_empty;
      CREATE TABLE it_valid (id int PRIMARY KEY, label text NOT NULL);
      INSERT INTO it_valid SELECT g, CASE WHEN g = ${BAD_ROW} THEN '${BAD_LABEL}' ELSE g::text END
        FROM generate_series(1, ${ROWS}) g;
      CREATE TABLE it_valid_loaded (id int PRIMARY KEY, _extracted_at timestamptz);
      INSERT INTO it_valid_loaded SELECT g, now() FROM generate_series(1, 3) g;
      CREATE TABLE it_valid_empty (id bigint PRIMARY KEY, label text, amount numeric(10,2), at timestamptz);
      DROP SCHEMA IF EXISTS "it_a.b" CASCADE; DROP SCHEMA IF EXISTS it_a CASCADE;
      CREATE SCHEMA "it_a.b"; CREATE SCHEMA it_a;
      CREATE TABLE "it_a.b".c (id int PRIMARY KEY); CREATE TABLE it_a."b.c" (id int PRIMARY KEY);
      INSERT INTO "it_a.b".c SELECT generate_series(1, 3); INSERT INTO it_a."b.c" SELECT generate_series(1, 7);
      ANALYZE it_valid;`);
    harness = await startHarness({ openStore });
  });

  after(async () => {
    await harness?.close();
    for (const c of cleanups.reverse()) c();
    for (const c of clients.values()) c.destroy();
    rmSync(work, { recursive: true, force: true });
    await db?.end();
  });

  /** Runs the export; expects it to fail; returns the surfaced failure and the activities. */
  async function expectFailure(
    input: Record<string, unknown>,
  ): Promise<{ failure: ApplicationFailure; activities: [string, number][] }> {
    const run = await expectExportFailure(harness, input);
    return { failure: run.failure, activities: activitiesOf(run.history) };
  }

  /** A destination for one case and how to tell that nothing was written under it. */
  interface Target {
    readonly destination: string;
    readonly written: () => Promise<readonly string[]>;
  }
  const s3Target = (prefix = uniquePrefix('valid')): Target => ({
    destination: `s3://${bucket()}/${prefix}`,
    written: async () => [...(await listObjects(s3(), prefix)).keys()],
  });
  const fileTarget = (dir: string): Target => ({
    destination: pathToFileURL(dir).href,
    written: () => Promise.resolve(filesUnder(dir)),
  });

  interface Case {
    readonly name: string;
    /** The destination, or undefined when this machine cannot set the case up (skipped). */
    readonly target: () => Target | undefined;
    readonly source?: Record<string, unknown>;
    readonly transform?: Record<string, unknown>;
    readonly type: string;
    /** The field the failure's details name, when it names one. */
    readonly field?: string;
    /** Activities that ran: none (refused by the workflow) or planning, once. */
    readonly activities: [string, number][];
  }
  const PLAN_ONCE: [string, number][] = [['pgParquetPlan', 1]];
  const NONE: [string, number][] = [];

  const cases: Case[] = [
    {
      name: 'a read-only folder (chattr +i, which binds root too)',
      target: () => {
        const dir = join(work, 'immutable');
        mkdirSync(dir);
        if (!tryRun('chattr', ['+i', dir])) return undefined;
        cleanups.push(() => tryRun('chattr', ['-i', dir]));
        return fileTarget(dir);
      },
      type: ErrorType.DestinationDenied,
      activities: PLAN_ONCE,
    },
    {
      name: 'a read-only file system (tmpfs mounted ro)',
      target: () => {
        const dir = join(work, 'ro-mount');
        mkdirSync(dir);
        if (!tryRun('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir])) return undefined;
        cleanups.push(() => tryRun('umount', [dir]));
        return fileTarget(join(dir, 'out'));
      },
      type: ErrorType.DestinationDenied,
      activities: PLAN_ONCE,
    },
    {
      name: 'a path under a regular file',
      target: () => {
        const file = join(work, 'a-file');
        writeFileSync(file, 'not a folder');
        return { ...fileTarget(join(file, 'out')), written: () => Promise.resolve(filesUnder(file)) };
      },
      type: ErrorType.DestinationNotFound,
      activities: PLAN_ONCE,
    },
    {
      name: 'a missing bucket',
      target: () => ({
        destination: `s3://no-such-bucket-${randomUUID().slice(0, 8)}/x`,
        written: () => Promise.resolve([]),
      }),
      type: ErrorType.DestinationNotFound,
      activities: PLAN_ONCE,
    },
    {
      name: 'wrong S3 credentials',
      target: () => {
        const prefix = uniquePrefix('valid-denied');
        clients.set(
          `${bucket()}/${prefix}`,
          new S3Client({
            endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? 'http://127.0.0.1:9000',
            forcePathStyle: true,
            region: process.env.AWS_REGION ?? 'us-east-1',
            credentials: {
              accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'x',
              secretAccessKey: `wrong-${randomUUID()}`,
            },
          }),
        );
        return s3Target(prefix);
      },
      type: ErrorType.DestinationDenied,
      activities: PLAN_ONCE,
    },
    ...['file:///proc/self/pg-parquet', 'file:///sys/pg-parquet', 'file:///'].map(
      (destination): Case => ({
        name: `destination ${destination}`,
        target: () => ({ destination, written: () => Promise.resolve([]) }),
        type: ErrorType.InvalidDestination,
        field: 'destination',
        activities: NONE,
      }),
    ),
    {
      name: 'a source column named like a metadata column (_extracted_at)',
      target: () => s3Target(),
      source: { table: 'it_valid_loaded' },
      type: ErrorType.InvalidInput,
      field: 'transform.extractedAtColumn',
      activities: PLAN_ONCE,
    },
    {
      name: 'transform.extractedAtColumn equal to a source column ("id")',
      target: () => s3Target(),
      transform: { extractedAtColumn: 'id' },
      type: ErrorType.InvalidInput,
      field: 'transform.extractedAtColumn',
      activities: PLAN_ONCE,
    },
    {
      name: 'transform.extractionIdColumn equal to a selected column ("label")',
      target: () => s3Target(),
      source: { table: TABLE, columns: ['id', 'label'] },
      transform: { extractionIdColumn: 'label' },
      type: ErrorType.InvalidInput,
      field: 'transform.extractionIdColumn',
      activities: PLAN_ONCE,
    },
    {
      name: 'a where that divides by zero on a row planning reads',
      target: () => s3Target(),
      source: { table: TABLE, where: '10 / (id - 5) > 0' },
      type: ErrorType.InvalidWhere,
      field: 'source.where',
      activities: PLAN_ONCE,
    },
  ];

  for (const c of cases) {
    test(c.name, async (t) => {
      const target = c.target();
      if (!target) {
        t.skip('this machine cannot set the case up');
        return;
      }
      const { failure, activities } = await expectFailure({
        source: { table: TABLE, ...c.source },
        destination: target.destination,
        partitions: { count: 1 },
        ...(c.transform ? { transform: c.transform } : {}),
      });
      assert.equal(failure.type, c.type);
      assert.equal(failure.nonRetryable, true);
      if (c.field) assert.equal((failure.details?.[0] as { field?: string }).field, c.field);
      assert.deepEqual(activities, c.activities);
      assert.deepEqual(await target.written(), [], 'nothing was written under the destination');
    });
  }

  for (const [what, where] of [
    ['divides by zero', `10 / (id - ${BAD_ROW}) <> 0`],
    ['casts a row value that does not convert', 'label::int > 0'],
  ] as const) {
    // min and max of the cursor read only the first and last matching rows (an index scan), so
    // planning passes and the row that fails (id BAD_ROW) is met by COPY.
    test(`a where that ${what} during COPY: PgParquetInvalidWhere after one attempt, no row value echoed`, async () => {
      const prefix = uniquePrefix('valid-where');
      const { failure, activities } = await expectFailure({
        source: { table: TABLE, where },
        destination: `s3://${bucket()}/${prefix}`,
        partitions: { count: 1 },
      });
      assert.equal(failure.type, ErrorType.InvalidWhere);
      assert.equal(failure.nonRetryable, true);
      const details = failure.details?.[0] as { field?: string; sqlState?: string };
      assert.equal(details.field, 'source.where');
      assert.match(details.sqlState ?? '', /^22/);
      // The planning answer carries the first partition ranges: no pgParquetPlanRanges.
      assert.deepEqual(activities, [
        ['pgParquetPlan', 1],
        ['pgParquetExtractPartition', 1],
      ]);
      const text = JSON.stringify([failure.message, failure.details]);
      assert.ok(!text.includes(BAD_LABEL), 'the failing row value is not in the error');
      const parquet = [...(await listObjects(s3(), prefix)).keys()].filter((k) => k.endsWith('.parquet'));
      assert.deepEqual(parquet, [], 'no data was stored');
    });
  }

  /** Runs an export to success. */
  async function exportOk(input: Record<string, unknown>, workflowId: string): Promise<ExportTableResult> {
    return harness.client.workflow.execute<(i: unknown) => Promise<ExportTableResult>>('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId,
      args: [input],
    });
  }

  const readManifest = async (key: string): Promise<Manifest> =>
    JSON.parse(new TextDecoder().decode(await getObject(s3(), key))) as Manifest;

  test('"a.b".c and a."b.c" get their own keys, workflow ids and manifests in one destination', async () => {
    const prefix = uniquePrefix('valid-names');
    const runKey = 'names-1';
    const tables = ['"it_a.b".c', 'it_a."b.c"'] as const;
    const ids = tables.map(
      (t) => `${exportWorkflowId('default', parseQualifiedName(t), runKey)}-${randomUUID()}`,
    );
    assert.notEqual(ids[0]!.replace(/-[^-/]*$/, ''), ids[1]!.replace(/-[^-/]*$/, ''));
    const results = await Promise.all(
      tables.map((table, i) =>
        exportOk({ source: { table }, destination: `s3://${bucket()}/${prefix}`, runKey }, ids[i]!),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.rows),
      [3, 7],
    );
    const keys = [...(await listObjects(s3(), prefix)).keys()].filter((k) => k.endsWith('_manifest.json'));
    assert.deepEqual(keys.sort(), [
      `it_a%2Eb.c/run=${runKey}/_manifest.json`,
      `it_a.b%2Ec/run=${runKey}/_manifest.json`,
    ]);
    const left = await readManifest(`${prefix}/it_a%2Eb.c/run=${runKey}/_manifest.json`);
    const right = await readManifest(`${prefix}/it_a.b%2Ec/run=${runKey}/_manifest.json`);
    assert.deepEqual(
      [left.table, left.totals.rows, right.table, right.totals.rows],
      ['"it_a.b".c', 3, 'it_a."b.c"', 7],
    );
  });

  for (const [what, source] of [
    ['an empty table', { table: 'it_valid_empty' }],
    ['a where that matches nothing', { table: TABLE, where: 'id < 0' }],
  ] as const) {
    test(`${what}: one zero-row data file with the schema, listed in the manifest`, async () => {
      const prefix = uniquePrefix('valid-empty');
      const runKey = 'empty-1';
      const result = await exportOk(
        { source, destination: `s3://${bucket()}/${prefix}`, runKey },
        `it-valid-${randomUUID()}`,
      );
      assert.equal(result.rows, 0);
      assert.equal(result.files, 1);
      const name = source.table === TABLE ? `public.${TABLE}` : 'public.it_valid_empty';
      const manifest = await readManifest(`${prefix}/${name}/run=${runKey}/_manifest.json`);
      assert.equal(manifest.files.length, 1);
      assert.equal(manifest.files[0]!.rows, 0);
      assert.equal(manifest.totals.rows, 0);
      const [path] = await download(s3(), [`${prefix}/${manifest.files[0]!.key}`]);
      const [count] = await queryParquet([path!], `SELECT count(*)::VARCHAR AS n FROM read_parquet($files)`);
      assert.deepEqual(count, { n: '0' });
      const schema = await parquetSchema(path!);
      const expected = [...manifest.columns.map((c) => c.name)];
      assert.deepEqual(
        expected.filter((c) => !schema.has(c)),
        [],
        'every column of the manifest is in the file',
      );
      assert.ok(expected.includes('_extracted_at') && expected.includes('_extraction_id'));
      if (source.table === 'it_valid_empty') {
        assert.deepEqual(
          manifest.columns.map((c) => c.name),
          ['id', 'label', 'amount', 'at', '_extracted_at', '_extraction_id'],
        );
        assert.match(schema.get('amount')?.logical ?? '', /decimal/i);
      }
    });
  }
});
