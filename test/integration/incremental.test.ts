/**
 * Incremental runs against the real services: a table that grows and is updated between runs and
 * during them, exported by four runs of the exportTable workflow (one of them planned, then
 * written to, then extracted); each run's output read back with DuckDB and compared with every row
 * version the test wrote; ranges contiguous, a re-run rewriting nothing, a late commit caught by
 * the lag, the `pg-parquet runs` listing, and bad incremental input refused, typed, before any work.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import type { ExportTableInput } from '../../src/contract/export-input.js';
import type { Manifest } from '../../src/run/manifest.js';
import { listTableRuns } from '../../src/run/run-history.js';
import { openObjectStore } from '../../src/storage/destination.js';
import type { WatermarkRange } from '../../src/contract/incremental.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { planDirect } from '../support/direct-export.js';
import { queryParquet } from '../support/parquet-reader.js';
import {
  expectExportFailure,
  scheduledActivities,
  startHarness,
  type TemporalHarness,
} from '../support/temporal.js';
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

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
/** The lag of the timestamp runs: writes this recent wait for the next run. */
const LAG_MS = 2_000;
const LAG = '2 seconds';

/** One row version the test committed: its id, version and watermark (µs since 1970). */
interface Version {
  readonly id: string;
  readonly v: number;
  readonly us: bigint;
}

describe('incremental runs', () => {
  let db: pg.Client;
  let storage: S3Client;
  let harness: TemporalHarness;
  const suffix = randomUUID().slice(0, 8);

  before(async () => {
    stack();
    db = await database();
    storage = s3();
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
    await db?.query(`DROP TABLE IF EXISTS it_incr_ts_${suffix}, it_incr_id_${suffix}, it_incr_bad_${suffix}`);
    await db?.end();
  });

  async function exportRun(input: ExportTableInput): Promise<ExportTableResult> {
    return harness.client.workflow.execute<(i: ExportTableInput) => Promise<ExportTableResult>>(
      'exportTable',
      {
        taskQueue: harness.taskQueue,
        workflowId: `it-incr-${randomUUID()}`,
        args: [input],
      },
    );
  }

  /** The failure of a run that must fail, and how many activities it scheduled. */
  async function failure(
    input: ExportTableInput,
  ): Promise<{ failure: ApplicationFailure; activities: number }> {
    const run = await expectExportFailure(harness, input);
    return { failure: run.failure, activities: scheduledActivities(run.history) };
  }

  /** A successful run's manifest and its rows (`id`, `v`) as DuckDB reads its data files. */
  async function readRun(prefix: string, table: string, runKey: string) {
    const run = `${prefix}/public.${table}/run=${runKey}`;
    await getObject(storage, `${run}/_SUCCESS`);
    const manifest = JSON.parse(
      new TextDecoder().decode(await getObject(storage, `${run}/_manifest.json`)),
    ) as Manifest;
    const paths = await download(
      storage,
      manifest.files.map((f) => `${prefix}/${f.key}`),
    );
    const rows = await queryParquet(
      paths,
      'SELECT id::VARCHAR AS id, v FROM read_parquet($files) ORDER BY id',
    );
    return { manifest, rows: rows.map((r) => `${String(r.id)}@${String(r.v)}`) };
  }

  const inRange = (w: WatermarkRange, us: bigint) =>
    w.to !== null && (w.from === null || us > BigInt(w.from)) && us <= BigInt(w.to);

  describe('by a timestamptz updated_at, partitioned by id', () => {
    const table = `it_incr_ts_${suffix}`;
    const prefix = uniquePrefix('it_incr');
    const destination = () => `s3://${bucket()}/${prefix}`;
    const versions: Version[] = [];
    const runs = new Map<string, { manifest: Manifest; rows: string[] }>();
    let nextId = 1;

    /** Commits `sql` (which must return id, v, us) and records the versions it wrote. */
    async function write(client: pg.ClientBase, sql: string, params: unknown[] = []): Promise<Version[]> {
      const r = await client.query<{ id: string; v: number; us: string }>(
        `${sql} RETURNING id::text, v, (extract(epoch FROM updated_at) * 1000000)::int8::text AS us`,
        params,
      );
      const written = r.rows.map((x) => ({ id: x.id, v: x.v, us: BigInt(x.us) }));
      versions.push(...written);
      return written;
    }
    const insert = (client: pg.ClientBase, n: number) => {
      const first = nextId;
      nextId += n;
      return write(
        client,
        `INSERT INTO ${table} (id, v, note) SELECT g, 1, 'row ' || g FROM generate_series($1::int8, $2::int8) g`,
        [first, first + n - 1],
      );
    };
    /** Each seed row is updated once at most: every version then lives until a run exports it. */
    const update = (client: pg.ClientBase, lo: number, hi: number) =>
      write(client, `UPDATE ${table} SET v = v + 1, updated_at = now() WHERE id BETWEEN $1 AND $2`, [lo, hi]);
    const input = (runKey: string): ExportTableInput => ({
      source: { table: `public.${table}`, cursor: 'id' },
      destination: destination(),
      runKey,
      mode: 'incremental',
      incremental: { column: 'updated_at', lag: LAG },
      partitions: { count: 3 },
      batch: { rows: 400 },
    });
    const runAndRead = async (runKey: string) => {
      const result = await exportRun(input(runKey));
      const read = await readRun(prefix, table, runKey);
      assert.deepEqual(result.watermark, read.manifest.watermark, 'the workflow returns the manifest range');
      runs.set(runKey, read);
      return read;
    };
    /** Waits out the lag, so that what was written so far is old enough for the next run. */
    const pastLag = () => sleep(LAG_MS + 300);

    before(async () => {
      await db.query(`DROP TABLE IF EXISTS ${table};
        CREATE TABLE ${table} (id bigint PRIMARY KEY, v int NOT NULL, note text,
                               updated_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX ON ${table} (updated_at);`);
      for (let i = 0; i < 4; i++) await insert(db, 500);
    });

    test('run 1 exports every row up to its high-water; the range starts nowhere', async () => {
      await pastLag();
      const { manifest, rows } = await runAndRead('r1');
      assert.equal(manifest.mode, 'incremental');
      assert.equal(manifest.watermark?.from, null);
      assert.equal(manifest.watermark?.previousRunKey, null);
      assert.equal(manifest.partitions.length, 3, 'partitioned by id inside the window');
      assert.equal(rows.length, 2000);
    });

    test('run 2 exports what was inserted and updated since, starting where run 1 ended', async () => {
      await insert(db, 500);
      await update(db, 1, 300);
      await pastLag();
      const { manifest, rows } = await runAndRead('r2');
      assert.equal(manifest.watermark?.from, runs.get('r1')!.manifest.watermark?.to);
      assert.equal(manifest.watermark?.previousRunKey, 'r1');
      assert.equal(rows.length, 800);
    });

    test('run 3: a late commit waits for the next run (lag); writes during the run are not in it', async () => {
      await insert(db, 100);
      await update(db, 301, 400);
      await pastLag();
      // A transaction stamps its row (now() = its start), then commits only after run 3 planned,
      // while later transactions commit rows with later stamps: without a lag, max() would pass it.
      const late = await database();
      try {
        await late.query('BEGIN');
        const [lateRow] = await insert(late, 1);
        await insert(db, 50);
        await update(db, 401, 450);
        await planDirect({
          table: { schema: 'public', name: table },
          destination: destination(),
          runKey: 'r3',
          partitions: 3,
          incremental: { column: 'updated_at', lag: { kind: 'duration', micros: LAG_MS * 1000, text: LAG } },
        });
        await late.query('COMMIT');
        // During the run (planned, not extracted yet): new rows, and new versions of run 1's rows.
        await insert(db, 70);
        await update(db, 451, 500);
        const { manifest, rows } = await runAndRead('r3');
        const w = manifest.watermark!;
        assert.equal(w.from, runs.get('r2')!.manifest.watermark?.to);
        assert.ok(BigInt(w.to!) < lateRow!.us, 'the high-water stays below the uncommitted stamp');
        assert.equal(rows.length, 200, 'only what was written before the lag');
        assert.ok(!rows.includes(`${lateRow!.id}@1`));
      } finally {
        await late.end();
      }
    });

    test('run 4, with rows inserted while it runs: every committed version up to its high-water is exported once', async () => {
      await update(db, 501, 600);
      await pastLag();
      // A writer inserting throughout run 4.
      const writer = await database();
      let stop = false;
      const writing = (async () => {
        while (!stop) {
          await insert(writer, 3);
          await sleep(40);
        }
      })();
      try {
        await runAndRead('r4');
      } finally {
        stop = true;
        await writing;
        await writer.end();
      }
      const ordered = ['r1', 'r2', 'r3', 'r4'].map((k) => runs.get(k)!);
      // Contiguous: each run starts exactly where the one before ended.
      for (let i = 1; i < ordered.length; i++) {
        assert.equal(ordered[i]!.manifest.watermark?.from, ordered[i - 1]!.manifest.watermark?.to);
        assert.ok(
          BigInt(ordered[i]!.manifest.watermark!.to!) >= BigInt(ordered[i]!.manifest.watermark!.from!),
        );
      }
      // Each run holds exactly the versions stamped inside its range, none twice.
      for (const { manifest, rows } of ordered) {
        const expected = versions
          .filter((x) => inRange(manifest.watermark!, x.us))
          .map((x) => `${x.id}@${x.v}`)
          .sort();
        assert.equal(new Set(rows).size, rows.length, `${manifest.runKey}: no row twice`);
        assert.equal(
          new Set(rows.map((r) => r.split('@')[0])).size,
          rows.length,
          `${manifest.runKey}: no id twice`,
        );
        assert.deepEqual([...rows].sort(), expected, `${manifest.runKey}: the versions of its range`);
        assert.equal(manifest.totals.rows, expected.length);
      }
      // The union: every version committed up to the last high-water, the late one included.
      const last = BigInt(ordered.at(-1)!.manifest.watermark!.to!);
      const union = ordered.flatMap((r) => r.rows).sort();
      const committed = versions.filter((x) => x.us <= last).map((x) => `${x.id}@${x.v}`);
      assert.deepEqual(union, committed.sort());
      assert.ok(
        versions.some((x) => x.us > last),
        'the writer also committed rows after the high-water',
      );
    });

    test('a re-run of run 2 exports the same range and rewrites nothing', async () => {
      const before = await objectVersions(storage, prefix);
      const again = await exportRun(input('r2'));
      assert.deepEqual(again.watermark, runs.get('r2')!.manifest.watermark);
      assert.equal(again.rows, runs.get('r2')!.manifest.totals.rows);
      assert.equal(again.skippedPartitions, 3);
      assert.deepEqual(await objectVersions(storage, prefix), before, 'every object keeps its ETag and time');
    });

    test('a runKey before a successful run is refused, typed, before any work', async () => {
      const { failure: f, activities } = await failure(input('r0'));
      assert.equal(f.type, ErrorType.WatermarkConflict);
      assert.equal(activities, 1, 'planning only, once');
      const keys = [...(await listObjects(storage, prefix)).keys()];
      assert.ok(!keys.some((k) => k.includes('/run=r0/')), 'nothing stored for it');
    });

    test('pg-parquet runs lists every run with its range, rows and state', () => {
      const out = spawnSync(
        process.execPath,
        ['--import', 'tsx', MAIN, 'runs', `public.${table}`, '--to', destination(), '--json'],
        { encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 },
      );
      assert.equal(out.status, 0, out.stderr);
      const listed = (JSON.parse(out.stdout) as { runs: Record<string, unknown>[] }).runs;
      assert.deepEqual(
        listed.map((r) => [r.runKey, r.state, r.mode, r.rows]),
        ['r1', 'r2', 'r3', 'r4'].map((k) => [
          k,
          'succeeded',
          'incremental',
          runs.get(k)!.manifest.totals.rows,
        ]),
      );
      assert.deepEqual(
        listed.map((r) => r.watermark),
        ['r1', 'r2', 'r3', 'r4'].map((k) => runs.get(k)!.manifest.watermark),
      );
      assert.match(
        String(listed[1]!.range),
        /^updated_at \(\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\]$/,
      );
    });
  });

  describe('by an integer id with a lag in ids', () => {
    const table = `it_incr_id_${suffix}`;
    const prefix = uniquePrefix('it_incr');
    const input = (runKey: string, lag: number): ExportTableInput => ({
      source: { table: `public.${table}` },
      destination: `s3://${bucket()}/${prefix}`,
      runKey,
      mode: 'incremental',
      incremental: { column: 'id', lag },
    });

    test('an id taken by a transaction still open is caught once the lag covers it', async () => {
      await db.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id bigserial PRIMARY KEY, v int NOT NULL);
        INSERT INTO ${table} (v) SELECT 1 FROM generate_series(1, 100);`);
      const a = await exportRun(input('a', 0));
      assert.deepEqual([a.watermark?.from, a.watermark?.to, a.rows], [null, '100', 100]);
      const late = await database();
      try {
        await late.query('BEGIN');
        await late.query(`INSERT INTO ${table} (v) VALUES (1)`); // takes id 101
        await db.query(`INSERT INTO ${table} (v) SELECT 1 FROM generate_series(1, 19)`); // 102..120
        // max 120 less 25 is below run a's end: the run waits (an empty range), it never goes back.
        const b = await exportRun(input('b', 25));
        assert.deepEqual([b.watermark?.from, b.watermark?.to, b.rows], ['100', '100', 0]);
        await late.query('COMMIT');
      } finally {
        await late.end();
      }
      const c = await exportRun(input('c', 0));
      assert.deepEqual([c.watermark?.from, c.watermark?.to, c.rows], ['100', '120', 20]);
      const { rows } = await readRun(prefix, table, 'c');
      assert.ok(rows.includes('101@1'), 'the late id is in run c');
    });

    test('a run superseded while unfinished is refused when re-run; the listing shows it unfinished', async () => {
      await db.query(`INSERT INTO ${table} (v) SELECT 1 FROM generate_series(1, 5)`); // 121..125
      // Run d is planned, then fails (here: is never extracted); run e succeeds after it.
      await planDirect({
        table: { schema: 'public', name: table },
        destination: `s3://${bucket()}/${prefix}`,
        runKey: 'd',
        partitions: 1,
        incremental: { column: 'id', lag: null },
      });
      await db.query(`INSERT INTO ${table} (v) SELECT 1 FROM generate_series(1, 5)`); // 126..130
      const e = await exportRun(input('e', 0));
      assert.deepEqual(
        [e.watermark?.from, e.watermark?.to, e.watermark?.previousRunKey],
        ['120', '130', 'c'],
      );
      const { failure: f, activities } = await failure(input('d', 0));
      assert.equal(f.type, ErrorType.WatermarkConflict);
      assert.equal(activities, 1, 'refused at planning, before any extraction');
      const listed = await listTableRuns({
        store: openObjectStore(`s3://${bucket()}/${prefix}`),
        table: { schema: 'public', name: table },
      });
      assert.deepEqual(
        listed.map((r) => [r.runKey, r.state, r.watermark?.from ?? null, r.watermark?.to ?? null, r.rows]),
        [
          ['a', 'succeeded', null, '100', 100],
          ['b', 'succeeded', '100', '100', 0],
          ['c', 'succeeded', '100', '120', 20],
          ['d', 'unfinished', '120', '125', null],
          ['e', 'succeeded', '120', '130', 10],
        ],
      );
    });
  });

  test('bad incremental settings fail typed, naming the field, before anything is stored', async () => {
    const table = `it_incr_bad_${suffix}`;
    await db.query(`DROP TABLE IF EXISTS ${table};
      CREATE TABLE ${table} (id int PRIMARY KEY, label text, day date, at timestamptz);
      INSERT INTO ${table} VALUES (1, 'a', current_date, now());`);
    const prefix = uniquePrefix('it_incr');
    const base = { source: { table: `public.${table}` }, destination: `s3://${bucket()}/${prefix}` };
    const cases: [ExportTableInput, string, string, number][] = [
      [{ ...base, mode: 'incremental' }, ErrorType.InvalidInput, 'incremental.column', 0],
      [{ ...base, incremental: { column: 'id' } }, ErrorType.InvalidInput, 'mode', 0],
      [
        { ...base, mode: 'incremental', incremental: { column: 'at', lag: '3 fortnights' } },
        ErrorType.InvalidInput,
        'incremental.lag',
        0,
      ],
      [
        { ...base, mode: 'incremental', incremental: { column: 'nope' } },
        ErrorType.ColumnNotFound,
        'incremental.column',
        1,
      ],
      [
        { ...base, mode: 'incremental', incremental: { column: 'label' } },
        ErrorType.UnsupportedWatermark,
        'incremental.column',
        1,
      ],
      [
        { ...base, mode: 'incremental', incremental: { column: 'day' } },
        ErrorType.UnsupportedWatermark,
        'incremental.column',
        1,
      ],
      [
        { ...base, mode: 'incremental', incremental: { column: 'at', lag: 10 } },
        ErrorType.InvalidInput,
        'incremental.lag',
        1,
      ],
      [
        { ...base, mode: 'incremental', incremental: { column: 'id', lag: '5 minutes' } },
        ErrorType.InvalidInput,
        'incremental.lag',
        1,
      ],
    ];
    for (const [input, type, field, planned] of cases) {
      const { failure: f, activities } = await failure(input);
      assert.equal(f.type, type, JSON.stringify(input));
      assert.equal(f.nonRetryable, true);
      assert.equal((f.details?.[0] as { field?: string } | undefined)?.field, field, JSON.stringify(input));
      assert.equal(activities, planned, 'no activity, or the planning activity once');
    }
    assert.equal((await listObjects(storage, prefix)).size, 0, 'nothing was written');
  });
});
