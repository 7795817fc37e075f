/**
 * Reads a finished run's output the way a careful reader does (its `_manifest.json`, then the
 * files it lists, after `_SUCCESS`) and compares it with the source table using DuckDB, the
 * independent reader: every row exactly once.
 */
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Manifest } from '../../src/run/manifest.js';
import { download, getObject } from './fixtures.js';
import { queryParquet } from './parquet-reader.js';

/** Which run to check, and against which table. */
export interface RunOutput {
  readonly db: pg.Client;
  readonly storage: S3Client;
  /** The destination's prefix in the local bucket. */
  readonly prefix: string;
  /** `schema.table`, plain names (as they read in keys; each part is quoted in SQL). */
  readonly table: string;
  readonly runKey: string;
  /** A numeric column whose sum must match too. */
  readonly sumColumn: string;
}

/**
 * Asserts that the run's files hold every row of the table exactly once (count, distinct ids,
 * min and max id, the sum of `sumColumn`) and that `_SUCCESS` exists; returns the manifest.
 */
export async function assertEveryRowOnce(o: RunOutput): Promise<Manifest> {
  const runPrefix = `${o.prefix}/${o.table}/run=${o.runKey}`;
  const manifest = JSON.parse(
    new TextDecoder().decode(await getObject(o.storage, `${runPrefix}/_manifest.json`)),
  ) as Manifest;
  await getObject(o.storage, `${runPrefix}/_SUCCESS`);
  const paths = await download(
    o.storage,
    manifest.files.map((f) => `${o.prefix}/${f.key}`),
  );
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const column = quote(o.sumColumn);
  const [out] = await queryParquet(
    paths,
    `SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, min(id)::VARCHAR AS lo,
            max(id)::VARCHAR AS hi, sum(${column})::VARCHAR AS total FROM read_parquet($files)`,
  );
  const src = (
    await o.db.query<{ n: string; lo: string; hi: string; total: string }>(
      `SELECT count(*)::text AS n, min(id)::text AS lo, max(id)::text AS hi, sum(${column})::text AS total
         FROM ${o.table.split('.').map(quote).join('.')}`,
    )
  ).rows[0]!;
  assert.equal(out!.n, src.n, 'row count');
  assert.equal(out!.ids, src.n, 'no id appears twice');
  assert.equal(out!.lo, src.lo);
  assert.equal(out!.hi, src.hi);
  assert.equal(out!.total, src.total, `sum of ${o.sumColumn}`);
  assert.equal(manifest.totals.rows, Number(src.n));
  return manifest;
}
