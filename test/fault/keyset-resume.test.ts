/**
 * Keyset and tie-broken cursors resume mid-partition after a SIGKILL: the worker dies after some
 * batches of a one-partition export; a new worker continues after the last stored key (a row
 * comparison), every row once, stored batches not rewritten. Two cursors: a composite
 * (text, uuid) primary key, and a non-unique timestamp broken by the primary key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { waitFor, WorkerFleet } from '../support/worker-process.js';
import { startSlowS3Proxy } from '../support/faulty-s3-proxy.js';
import {
  bucket,
  database,
  download,
  getObject,
  objectVersions,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';

const ROWS = 300_000;
const BATCH_ROWS = 20_000;
/** The PUT of a stored batch. */
const BATCH_PUT = /\/_raw\/part=\d+\/batch=\d+\.parquet/;

describe('keyset cursor: kill and resume', () => {
  let db: pg.Client;
  let storage: S3Client;
  let fleet: WorkerFleet;

  before(async () => {
    stack();
    db = await database();
    // Tenants in an ICU collation (mixed case sorts differently from "C"), ids random uuids.
    await db.query(`DROP TABLE IF EXISTS it_ak_faults, it_ak_faults_ties;
      CREATE TABLE it_ak_faults (tenant text COLLATE "en-US-x-icu" NOT NULL, id uuid NOT NULL, amount numeric(12,2) NOT NULL,
        PRIMARY KEY (tenant, id));
      INSERT INTO it_ak_faults SELECT (CASE g % 2 WHEN 0 THEN 'a' ELSE 'B' END) || (g % 7), md5(g::text)::uuid, g / 100.0
        FROM generate_series(1, ${ROWS}) g;
      -- a non-unique cursor: 100 distinct timestamps, 3,000 rows each, in a shuffled heap order.
      CREATE TABLE it_ak_faults_ties (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, amount numeric(12,2) NOT NULL);
      CREATE INDEX ON it_ak_faults_ties (created_at);
      INSERT INTO it_ak_faults_ties SELECT g, timestamptz '2026-01-01 00:00:00+00' + (g * 37 % 100) * interval '1 minute', g / 100.0
        FROM generate_series(1, ${ROWS}) g ORDER BY md5(g::text);
      ANALYZE it_ak_faults; ANALYZE it_ak_faults_ties;`);
    storage = s3();
    fleet = await WorkerFleet.connect();
  });

  after(async () => {
    await fleet?.close();
    await db?.end();
  });

  const rawBatches = (versions: Map<string, string>) =>
    new Map([...versions].filter(([k]) => /\/_raw\/part=\d+\/batch=\d+\.parquet$/.test(k)));

  /**
   * A one-partition export of `table` on a worker that stores through a slow proxy, SIGKILLed
   * after 3 stored batches and finished by a new worker. Checks that the batches stored before
   * the kill were kept (same versions) and that the partition has all its batches; returns the
   * manifest and the downloaded data files.
   */
  async function killAndResume(name: string, table: string, source: Record<string, unknown>) {
    const runKey = 'kill';
    const slow = await startSlowS3Proxy({ path: BATCH_PUT, ms: 500, after: 3 });
    try {
      const taskQueue = `fault-${randomUUID()}`;
      const prefix = uniquePrefix(name);
      const first = await fleet.worker(taskQueue, { AWS_ENDPOINT_URL_S3: slow.url });
      const handle = await fleet.client.workflow.start('exportTable', {
        taskQueue,
        workflowId: `it-${name}-${randomUUID()}`,
        args: [
          {
            source: { table, ...source },
            destination: `s3://${bucket()}/${prefix}`,
            runKey,
            partitions: { count: 1 },
            batch: { rows: BATCH_ROWS },
            compaction: { keepRaw: true },
          },
        ],
      });
      await waitFor(
        '3 stored batches',
        async () => rawBatches(await objectVersions(storage, prefix)).size >= 3,
      );
      await first.kill();
      slow.speedUp();
      const before = rawBatches(await objectVersions(storage, prefix));
      assert.ok(before.size < ROWS / BATCH_ROWS, 'the partition was not finished when the worker died');
      await fleet.worker(taskQueue);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      const manifest = JSON.parse(
        new TextDecoder().decode(await getObject(storage, `${prefix}/${table}/run=${runKey}/_manifest.json`)),
      ) as Manifest;
      const paths = await download(
        storage,
        manifest.files.map((f) => `${prefix}/${f.key}`),
      );
      // The batches stored before the kill were kept, not rewritten; the rest continued after them.
      const afterKill = rawBatches(await objectVersions(storage, prefix));
      for (const [key, version] of before)
        assert.equal(afterKill.get(key), version, `${key} was not rewritten`);
      assert.equal(afterKill.size, ROWS / BATCH_ROWS);
      return { manifest, paths };
    } finally {
      await slow.close();
    }
  }

  test(
    'composite (text, uuid) primary key: resumes after the last stored key',
    { timeout: 240_000 },
    async () => {
      const { manifest, paths } = await killAndResume('kill-keyset', 'public.it_ak_faults', {});
      assert.deepEqual(
        manifest.cursorKey?.map((k) => k.name),
        ['tenant', 'id'],
      );
      const [r] = await queryParquet(
        paths,
        `SELECT count(*)::VARCHAR AS n, count(DISTINCT (tenant, id))::VARCHAR AS keys, sum(amount)::VARCHAR AS total,
              md5(string_agg(tenant || '/' || id::VARCHAR, '|' ORDER BY tenant || '/' || id::VARCHAR)) AS digest
         FROM read_parquet($files)`,
      );
      const src = (
        await db.query<{ n: string; total: string; digest: string }>(
          `SELECT count(*)::text AS n, sum(amount)::text AS total,
                md5(string_agg(tenant || '/' || id::text, '|' ORDER BY tenant || '/' || id::text COLLATE "C")) AS digest
           FROM it_ak_faults`,
        )
      ).rows[0]!;
      assert.equal(r!.n, src.n, 'row count');
      assert.equal(r!.keys, src.n, 'no key twice');
      assert.equal(r!.total, src.total, 'sum of amounts');
      assert.equal(r!.digest, src.digest, 'the same set of keys');
    },
  );

  test(
    'non-unique timestamp cursor: resumes after (created_at, id), its tie-breaker',
    { timeout: 240_000 },
    async () => {
      const { manifest, paths } = await killAndResume('kill-ties', 'public.it_ak_faults_ties', {
        cursor: 'created_at',
      });
      const [r] = await queryParquet(
        paths,
        'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, sum(amount)::VARCHAR AS total FROM read_parquet($files)',
      );
      const src = (
        await db.query<{ n: string; total: string }>(
          'SELECT count(*)::text AS n, sum(amount)::text AS total FROM it_ak_faults_ties',
        )
      ).rows[0]!;
      assert.deepEqual(r, { n: src.n, ids: src.n, total: src.total });
      // The manifest states the cursor's own span (µs since 1970), without the tie-breaker's values.
      assert.equal(typeof manifest.files[0]!.cursorMin, 'string');
    },
  );
});
