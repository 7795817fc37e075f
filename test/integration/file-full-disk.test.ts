/**
 * Fault catalogue, a full disk under a `file://` destination: a 16 MiB tmpfs, filled by the test
 * to about 1.5 MiB of free space, so that the run stores some batches and then meets ENOSPC
 * mid-extraction. ENOSPC is transient for us (space can come back): the activity fails with
 * `PgParquetDestinationFull`, retryable, and Temporal retries it with backoff. While the disk is
 * full the run does not succeed (no `_SUCCESS`, no `_manifest.json`, no data file a reader sees);
 * once the test frees the space, the retries finish the run exactly, and the batches stored
 * before the fault are not rewritten. Needs root (mount); skipped, saying so, when mount is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { ErrorType } from '../../src/contract/errors.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { assertExactRun, attemptFailures } from '../support/fault-checks.js';
import { database, stack } from '../support/fixtures.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import { waitFor } from '../support/worker-process.js';

const TABLE = 'public.it_full_disk';
const ROWS = 80_000;
const BATCH_ROWS = 4_000;
const FREE_BYTES = 1.5 * 1024 * 1024;

/** Mounts a 16 MiB tmpfs on a fresh folder; the reason when this machine refuses it. */
function mountTmpfs(): { dir: string } | { refused: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pgpq-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmdirSync(dir);
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return { refused: `mount -t tmpfs refused (needs root or CAP_SYS_ADMIN): ${stderr || String(err)}` };
  }
}

/** Every file under a folder, paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

const mounted = mountTmpfs();

describe('a full disk under file://', { skip: 'refused' in mounted ? mounted.refused : false }, () => {
  const root = 'dir' in mounted ? mounted.dir : '';
  let db: pg.Client;
  let harness: TemporalHarness;

  before(async () => {
    stack();
    db = await database();
    await db.query(`DROP TABLE IF EXISTS it_full_disk;
      CREATE TABLE it_full_disk (id bigint PRIMARY KEY, label text, amount numeric(12,2), qty int);
      INSERT INTO it_full_disk SELECT g, md5(g::text) || md5((-g)::text), g / 100.0, g % 1000
        FROM generate_series(1, ${ROWS}) g;
      ANALYZE it_full_disk;`);
    harness = await startHarness();
  });

  after(async () => {
    await harness?.close();
    await db?.end();
    if (root) {
      execFileSync('umount', [root]);
      rmdirSync(root);
    }
  });

  /**
   * Fills the disk to FREE_BYTES of free space, starts an export into `out/<name>`, waits until
   * an extraction is retried after PgParquetDestinationFull (attempt 3 pending), and checks that
   * nothing is finished or visible meanwhile. Returns what the rest of the case needs.
   */
  async function fillAndStart(name: string) {
    const out = join(root, name);
    const filler = join(root, `filler-${name}`);
    const free = () => {
      const s = statfsSync(root);
      return s.bavail * s.bsize;
    };
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 7);
    while (free() > FREE_BYTES + chunk.length) writeSync(fd, chunk);
    closeSync(fd);
    const runKey = `${name}-1`;
    const input = {
      source: { table: TABLE, cursor: 'id' },
      destination: `file://${out}`,
      runKey,
      partitions: { count: 2, maxConcurrent: 2 },
      batch: { rows: BATCH_ROWS },
      // Kept, so that the batches stored before the fault can be checked after the run.
      compaction: { keepRaw: true },
    };
    const workflowId = `it-full-disk-${randomUUID()}`;
    const handle = await harness.client.workflow.start('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId,
      args: [input],
    });

    // The disk fills: an extraction fails with PgParquetDestinationFull and is retried.
    let seen: { attempt: number; type: string } | undefined;
    await waitFor('a retry after PgParquetDestinationFull', async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      for (const a of pending) {
        const type = a.lastFailure?.applicationFailureInfo?.type;
        if ((a.attempt ?? 0) >= 3 && type) seen = { attempt: a.attempt ?? 0, type };
      }
      return seen !== undefined;
    });
    assert.equal(seen!.type, ErrorType.DestinationFull);
    const runDir = join(out, TABLE, `run=${runKey}`);
    const whileFull = filesUnder(runDir);
    assert.ok(
      !whileFull.includes('_SUCCESS') && !whileFull.includes('_manifest.json'),
      'not finished while full',
    );
    assert.deepEqual(
      whileFull.filter((f) => !f.split('/').some((s) => s.startsWith('_') || s.startsWith('.'))),
      [],
      'no data file a reader sees while the disk is full',
    );
    const storedBefore = whileFull.filter((f) => /^_raw\/part=\d+\/batch=\d+\.parquet$/.test(f));
    assert.ok(storedBefore.length > 0, 'some batches were stored before the disk filled');
    const versions = new Map(storedBefore.map((f) => [f, statSync(join(runDir, f))]));
    return { out, filler, runKey, input, workflowId, handle, seen: seen!, runDir, versions };
  }

  /** The run's output is exact, no temp file is left, the batches stored before the fault are untouched. */
  async function assertFinishedExactly(
    out: string,
    runKey: string,
    runDir: string,
    versions: Map<string, Stats>,
  ) {
    const figures = await assertExactRun({
      db,
      at: { folder: out },
      table: TABLE,
      runKey,
      cursor: 'id',
      sums: ['amount', 'qty'],
    });
    assert.deepEqual(
      filesUnder(out).filter((f) => f.split('/').some((s) => s.startsWith('.pgpq-tmp-'))),
      [],
      'no temp file left behind',
    );
    for (const [f, st] of versions) {
      const now = statSync(join(runDir, f));
      assert.deepEqual(
        [now.ino, now.mtimeMs, now.size],
        [st.ino, st.mtimeMs, st.size],
        `${f} was not rewritten`,
      );
    }
    return figures;
  }

  test(
    'ENOSPC mid-extraction: PgParquetDestinationFull, retried; after space is freed the retries end the run exactly',
    { timeout: 240_000 },
    async (t) => {
      const { out, filler, runKey, handle, seen, runDir, versions } = await fillAndStart('retried');
      // Space comes back: the retries finish the run.
      rmSync(filler);
      const result = (await handle.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      const figures = await assertFinishedExactly(out, runKey, runDir, versions);
      const failures = await attemptFailures(harness.client, handle);
      for (const f of failures) {
        assert.equal(f.type, ErrorType.DestinationFull, `${f.activity}: ${f.type}`);
        assert.equal(f.nonRetryable, false);
      }
      t.diagnostic(
        `disk full after ${versions.size}/${ROWS / BATCH_ROWS} batches; retried, attempt ${seen.attempt} seen with ${seen.type}; ` +
          `${failures.length} failed attempts in history; rows ${figures.rows}, distinct ids ${figures.distinctCursors}, ` +
          `files ${figures.files}, sums ${JSON.stringify(figures.sums)}`,
      );
    },
  );

  test(
    'ENOSPC mid-extraction, the run given up (terminated) while full: a re-run after space is freed resumes and ends exactly',
    { timeout: 240_000 },
    async (t) => {
      const { out, filler, runKey, input, workflowId, handle, runDir, versions } =
        await fillAndStart('rerun');
      // What an operator does when retrying cannot help soon, or what the run's last attempt
      // leaves: a closed run and what it had stored.
      await handle.terminate('the disk is full');
      const left = filesUnder(runDir);
      assert.ok(!left.includes('_SUCCESS') && !left.includes('_manifest.json'), 'no finished run left');
      rmSync(filler);
      // The same workflow id and input, as "Start Workflow Like This One" does.
      const rerun = await harness.client.workflow.start('exportTable', {
        taskQueue: harness.taskQueue,
        workflowId,
        args: [input],
      });
      const result = (await rerun.result()) as ExportTableResult;
      assert.equal(result.rows, ROWS);
      const figures = await assertFinishedExactly(out, runKey, runDir, versions);
      t.diagnostic(
        `disk full after ${versions.size}/${ROWS / BATCH_ROWS} batches, terminated, re-run after freeing: ` +
          `rows ${figures.rows}, distinct ids ${figures.distinctCursors}, files ${figures.files}, sums ${JSON.stringify(figures.sums)}`,
      );
    },
  );
});
