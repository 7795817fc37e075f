/**
 * Faults inside the extraction pipeline (decode → encoder threads → ordered stores), against
 * PostgreSQL and MinIO, with the activity body called directly: a failed S3 put while later
 * batches are already encoded must leave only batches 0..k-1 stored, and the retry must resume
 * from batch k and end with every source row exactly once (DuckDB over the stored files).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { extractPartition, type ExtractPartitionInput } from '../../src/export/extract-partition.js';
import { ParquetEncoderPool } from '../../src/parquet/encoder-pool.js';
import { openObjectStore } from '../../src/storage/destination.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { bucket, database, download, listObjects, s3, stack, uniquePrefix } from '../support/fixtures.js';
import { planDirect } from '../support/direct-export.js';
import { queryParquet } from '../support/parquet-reader.js';

const TABLE = 'it_pipeline_faults';
const ROWS = 20_000;
const BATCH_ROWS = 1_000;

let db: pg.Client;
const pool = new ParquetEncoderPool(2);

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS ${TABLE};
    CREATE TABLE ${TABLE} (id bigint PRIMARY KEY, v text, x float8);
    INSERT INTO ${TABLE} SELECT g, repeat('v', g % 37), g / 3.0 FROM generate_series(1, ${ROWS}) g;`);
});
after(async () => {
  await pool.close();
  await db?.end();
});

/** The real store, except that the put of `failKey` fails once (an S3 5xx, say). */
function failingOnce(
  store: ObjectStore,
  failKey: (key: string) => boolean,
): ObjectStore & { failed: string[] } {
  const failed: string[] = [];
  return Object.assign(Object.create(store) as ObjectStore, {
    failed,
    async put(key: string, body: Uint8Array, contentType?: string) {
      if (failed.length === 0 && failKey(key)) {
        failed.push(key);
        // Let the encoder threads get ahead, so that later batches are encoded when this fails.
        await new Promise((resolve) => setTimeout(resolve, 300));
        throw new Error(`injected: S3 PutObject ${key} failed with 503`);
      }
      return store.put(key, body, contentType);
    },
  });
}

test('a failed store with batches in flight keeps a prefix; the retry resumes and stores every row once', async () => {
  const prefix = uniquePrefix('pipeline-faults');
  const destination = `s3://${bucket()}/${prefix}`;
  const runKey = 'faults-1';
  const table = { schema: 'public', name: TABLE };
  const ranges = await planDirect({
    table,
    destination,
    runKey,
    partitions: 1,
    startedAt: '2026-11-22T00:00:00.000Z',
  });
  const input: ExtractPartitionInput = {
    connection: 'default',
    table,
    destination,
    runKey,
    partition: ranges[0]!,
    batch: { rows: BATCH_ROWS, bytes: 1 << 26 },
    transform: {
      extractedAtColumn: '_extracted_at',
      extractionIdColumn: '_extraction_id',
      timestampUnit: 'us',
    },
    parquet: { compression: 'zstd', rowGroupRows: 1_000_000 },
  };
  const heartbeats: number[] = [];
  const ctx = {
    heartbeat: (p: { batch: number }) => heartbeats.push(p.batch),
    signal: new AbortController().signal,
  };

  const failing = failingOnce(openObjectStore(destination), (k) => k.endsWith('batch=000005.parquet'));
  await assert.rejects(
    extractPartition(input, ctx, { openStore: () => failing, encoder: pool }),
    /injected: S3 PutObject/,
  );
  const client = s3();
  const afterFailure = [...(await listObjects(client, prefix)).keys()]
    .filter((k) => k.endsWith('.parquet'))
    .sort();
  assert.deepEqual(
    afterFailure.map((k) => k.replace(/.*batch=/, '')),
    ['000000.parquet', '000001.parquet', '000002.parquet', '000003.parquet', '000004.parquet'],
    'batches after the failed one were encoded but never stored',
  );
  assert.deepEqual(heartbeats.slice(0, 5), [1, 2, 3, 4, 5], 'a heartbeat after each stored batch, in order');

  // The retry (any worker): resumes after batch 4, rewrites nothing, stores the rest.
  const etags = await listObjects(client, prefix);
  const result = await extractPartition(input, ctx, { openStore: openObjectStore, encoder: pool });
  assert.equal(result.resumedBatches, 5);
  assert.equal(result.rows, ROWS);
  const after = await listObjects(client, prefix);
  for (const k of afterFailure) assert.equal(after.get(k), etags.get(k), `${k} was not rewritten`);
  const files = [...after.keys()].filter((k) => k.endsWith('.parquet'));
  assert.equal(files.length, ROWS / BATCH_ROWS);
  const paths = await download(
    client,
    files.map((k) => `${prefix}/${k}`),
  );
  const [got] = await queryParquet(
    paths,
    `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, sum(id)::VARCHAR AS s, sum(length(v))::VARCHAR AS lv FROM read_parquet($files)`,
  );
  const want = (
    await db.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, sum(id)::text AS s, sum(length(v))::text AS lv FROM ${TABLE}`,
    )
  ).rows[0];
  assert.deepEqual(got, want);
});
