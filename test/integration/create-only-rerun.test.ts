/**
 * A re-run of a finished run with `consistency: "snapshot"` (strict): its create-only manifest
 * stays, so the re-run reads nothing again (in a new snapshot its markers would not count) and
 * rewrites nothing, and it succeeds with the same rows as an independent reader counts them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { Manifest } from '../../src/run/manifest.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { queryParquet } from '../support/parquet-reader.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { database, stack } from '../support/fixtures.js';

let db: pg.Client;
let harness: TemporalHarness;
let dir: string;

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_strict_rerun;
    CREATE TABLE it_strict_rerun (id bigint PRIMARY KEY, v int);
    INSERT INTO it_strict_rerun SELECT g, g * 3 FROM generate_series(1, 5000) g;
    ANALYZE it_strict_rerun;`);
  harness = await startHarness();
  dir = await mkdtemp(path.join(tmpdir(), 'pgpq-strict-rerun-'));
});

after(async () => {
  await harness?.close();
  await db?.end();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every file under `root`: relative path → size and modification time. */
async function versions(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    const st = await stat(file);
    out.set(path.relative(root, file), `${st.size}@${st.mtimeMs}`);
  }
  return out;
}

test('a strict-snapshot run re-run after it finished: nothing read or written again, same rows', async () => {
  const input = {
    source: { table: 'public.it_strict_rerun' },
    destination: `file://${dir}`,
    runKey: 'strict-1',
    consistency: 'snapshot',
    partitions: { count: 2 },
  };
  const run = () =>
    harness.client.workflow.execute('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId: `it-strict-rerun-${randomUUID()}`,
      args: [input],
    }) as Promise<ExportTableResult>;
  const first = await run();
  assert.equal(first.rows, 5000);
  const before = await versions(dir);
  const again = await run();
  assert.equal(again.skippedPartitions, 2, 'no partition is read again in the new snapshot');
  assert.equal(again.rows, 5000);
  assert.deepEqual(await versions(dir), before, 'nothing rewritten');
  const runDir = path.join(dir, 'public.it_strict_rerun', 'run=strict-1');
  const manifest = JSON.parse(await readFile(path.join(runDir, '_manifest.json'), 'utf8')) as Manifest;
  assert.equal(manifest.consistency.mode, 'snapshot');
  const [r] = await queryParquet(
    manifest.files.map((f) => path.join(dir, ...f.key.split('/'))),
    'SELECT count(*)::VARCHAR AS n, count(DISTINCT id)::VARCHAR AS ids, sum(v)::VARCHAR AS total FROM read_parquet($files)',
  );
  const src = (
    await db.query<{ n: string; total: string }>(
      'SELECT count(*)::text AS n, sum(v)::text AS total FROM it_strict_rerun',
    )
  ).rows[0]!;
  assert.deepEqual(r, { n: src.n, ids: src.n, total: src.total });
});
