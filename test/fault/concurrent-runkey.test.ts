/**
 * Two runs of one runKey at once (issue 12, D1): a UI start reusing the runKey of a CLI or
 * scheduled run still running, with other partition settings (4 vs 8 partitions), under two
 * workflow ids. Repeated 20 times per destination kind (s3:// on MinIO, file://). Every pair ends
 * with one or both runs succeeding with the source's full row count, or the loser failing typed
 * PgParquetPlanMismatch; never anything in between, and never a `_SUCCESS` over fewer rows than
 * the source (checked with DuckDB over the files the manifest lists: count, distinct ids, sum).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { bucket, database, download, getObject, s3, stack, uniquePrefix } from '../support/fixtures.js';

const ROWS = 10_000;
const PAIRS = Number(process.env.PG_PARQUET_TEST_PAIRS ?? 20);
const TABLE = 'public.it_createonly';

describe('two runs of one runKey with other partition settings, started at once', () => {
  let db: pg.Client;
  let storage: S3Client;
  let harness: TemporalHarness;
  let folder: string;
  let source: { n: string; ids: string; total: string };

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_createonly;
      CREATE TABLE it_createonly (id bigint PRIMARY KEY, amount numeric(12,2));
      INSERT INTO it_createonly SELECT g, g / 7.0 FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_createonly;`);
    source = (
      await db.query<{ n: string; ids: string; total: string }>(
        'SELECT count(*)::text AS n, count(DISTINCT id)::text AS ids, sum(amount)::text AS total FROM it_createonly',
      )
    ).rows[0]!;
    storage = s3();
    harness = await startHarness();
    folder = await mkdtemp(path.join(tmpdir(), 'pgpq-createonly-'));
  });

  after(async () => {
    await harness?.close();
    await db?.end();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  /** What a run ended with: its rows, or the type of its typed failure. */
  type Outcome = { readonly ok: true; readonly rows: number } | { readonly ok: false; readonly type: string };

  async function outcome(run: Promise<unknown>): Promise<Outcome> {
    try {
      return { ok: true, rows: ((await run) as ExportTableResult).rows };
    } catch (err) {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.ok(err.cause instanceof ApplicationFailure, `untyped failure: ${String(err.cause)}`);
      return { ok: false, type: err.cause.type ?? 'none' };
    }
  }

  /** The run's `_SUCCESS` and manifest as an independent reader finds them (undefined: no `_SUCCESS`). */
  type Reader = (key: string) => Promise<Uint8Array | undefined>;

  /** Reads the files the manifest lists with DuckDB: rows, distinct ids and the sum of amounts. */
  async function readRun(
    read: Reader,
    localFiles: (m: Manifest) => Promise<string[]>,
    runKey: string,
  ): Promise<{ n: string; ids: string; total: string } | undefined> {
    const runPrefix = `${TABLE}/run=${runKey}`;
    if ((await read(`${runPrefix}/_SUCCESS`)) === undefined) return undefined;
    const manifestBytes = await read(`${runPrefix}/_manifest.json`);
    assert.ok(manifestBytes, '_SUCCESS without a manifest');
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as Manifest;
    const [r] = await queryParquet(
      await localFiles(manifest),
      'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, sum(amount)::VARCHAR AS total FROM read_parquet($files)',
    );
    assert.equal(manifest.totals.rows, Number(r!.n), 'the manifest counts the rows its files hold');
    return r as { n: string; ids: string; total: string };
  }

  /**
   * Runs `count` pairs on `kind`: a run with 4 partitions and one with 8 (plus `second`, extra
   * input of the second run). With `mismatch`, the settings disagree on something the plan fixes,
   * so exactly one run must succeed and the other fail PlanMismatch.
   */
  async function pairs(
    kind: 's3' | 'file',
    count = PAIRS,
    second: Record<string, unknown> = {},
    mismatch = false,
  ): Promise<void> {
    const tally = { both: 0, one: 0, mismatch: 0, overlapping: 0 };
    for (let i = 0; i < count; i++) {
      const runKey = `pair-${i}`;
      let destination: string;
      let read: Reader;
      let localFiles: (m: Manifest) => Promise<string[]>;
      if (kind === 's3') {
        const prefix = uniquePrefix(`createonly-${i}`);
        destination = `s3://${bucket()}/${prefix}`;
        read = (key) => getObject(storage, `${prefix}/${key}`).catch(() => undefined);
        localFiles = (m) =>
          download(
            storage,
            m.files.map((f) => `${prefix}/${f.key}`),
          );
      } else {
        const root = path.join(folder, `pair-${i}-${randomUUID().slice(0, 8)}`);
        destination = `file://${root}`;
        read = async (key) => {
          const file = path.join(root, ...key.split('/'));
          return (await stat(file).catch(() => undefined)) ? new Uint8Array(await readFile(file)) : undefined;
        };
        localFiles = (m) => Promise.resolve(m.files.map((f) => path.join(root, ...f.key.split('/'))));
      }
      const ids = [4, 8].map((count) => `it-createonly-${count}-${randomUUID()}`);
      const handles = await Promise.all(
        [4, 8].map((count, k) =>
          harness.client.workflow.start('exportTable', {
            taskQueue: harness.taskQueue,
            workflowId: ids[k]!,
            args: [
              {
                source: { table: TABLE },
                destination,
                runKey,
                partitions: { count },
                ...(k === 1 ? second : {}),
              },
            ],
          }),
        ),
      );
      const outcomes = await Promise.all(handles.map((h) => outcome(h.result())));
      const failed = outcomes.filter((o) => !o.ok);
      for (const o of outcomes) {
        if (o.ok) assert.equal(o.rows, ROWS, `pair ${i}: a run succeeded with ${o.rows} rows`);
        else assert.equal(o.type, ErrorType.PlanMismatch, `pair ${i}: a run failed with ${o.type}`);
      }
      assert.ok(failed.length < 2, `pair ${i}: both runs failed`);
      if (mismatch)
        assert.equal(failed.length, 1, `pair ${i}: runs that disagree on the plan both succeeded`);
      // Whatever the runs said, what a reader finds: a _SUCCESS only over every source row, once.
      const found = await readRun(read, localFiles, runKey);
      assert.ok(found, `pair ${i}: no _SUCCESS although a run succeeded`);
      assert.deepEqual(found, source, `pair ${i}: rows, distinct ids and sum as in the source`);
      if (failed.length === 0) tally.both++;
      else tally.one++;
      tally.mismatch += failed.length;
      // Did both plan at the same time (the race create-only settles)? From the two histories.
      const spans = await Promise.all(handles.map((h) => planningSpan(h)));
      if (spans[0]![0] < spans[1]![1] && spans[1]![0] < spans[0]![1]) tally.overlapping++;
    }
    console.log(
      `[concurrent runKey, ${kind}${mismatch ? ', other metadata column name' : ''}] ${count} pairs: both succeeded ${tally.both}, one succeeded ${tally.one} ` +
        `(${tally.mismatch} PlanMismatch), planning overlapped in ${tally.overlapping}`,
    );
  }

  /** When the run's planning activity started and closed, completed or failed (ms since the epoch). */
  async function planningSpan(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }) {
    const events = ((await handle.fetchHistory()).events ?? []) as {
      eventTime?: { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null;
      activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
      activityTaskStartedEventAttributes?: { scheduledEventId?: { toString(): string } | null } | null;
      activityTaskCompletedEventAttributes?: { scheduledEventId?: { toString(): string } | null } | null;
      activityTaskFailedEventAttributes?: { scheduledEventId?: { toString(): string } | null } | null;
      eventId?: { toString(): string } | null;
    }[];
    const ms = (e: (typeof events)[number]) => {
      const s = e.eventTime?.seconds;
      const seconds = typeof s === 'number' ? s : (s?.toNumber() ?? 0);
      return seconds * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
    };
    const scheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'pgParquetPlan',
    );
    const id = scheduled?.eventId?.toString();
    const started = events.find(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === id,
    );
    const closed = events.find(
      (e) =>
        (
          e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes
        )?.scheduledEventId?.toString() === id,
    );
    return [started ? ms(started) : 0, closed ? ms(closed) : 0] as const;
  }

  test(
    `s3:// (MinIO): ${PAIRS} pairs, never a _SUCCESS over fewer rows than the source`,
    { timeout: 900_000 },
    () => pairs('s3'),
  );

  test(
    `file://: ${PAIRS} pairs, never a _SUCCESS over fewer rows than the source`,
    { timeout: 900_000 },
    () => pairs('file'),
  );

  // Another metadata column name changes every file's schema: one run's plan wins, the other fails.
  const other = { transform: { extractionIdColumn: '_eid' } };
  for (const kind of ['s3', 'file'] as const) {
    test(
      `${kind}: 5 pairs that also differ in transform.extractionIdColumn: one succeeds, the other fails PlanMismatch`,
      { timeout: 600_000 },
      () => pairs(kind, 5, other, true),
    );
  }
});
