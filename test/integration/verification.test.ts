/**
 * Verification catches lost data: the phases are run separately (plan and extraction called
 * directly, the seam the activities adapt), one stored raw batch is removed, and the workflow that
 * then finishes the run fails with the typed error and writes no `_SUCCESS`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../src/contract/errors.js';
import { extractDirect, planDirect } from '../support/direct-export.js';
import { startHarness, type TemporalHarness } from '../support/temporal.js';
import {
  bucket,
  database,
  deleteObjects,
  listObjects,
  s3,
  stack,
  uniquePrefix,
} from '../support/fixtures.js';

let harness: TemporalHarness;
let db: pg.Client;

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_verify; CREATE TABLE it_verify (id int PRIMARY KEY, v text);
                  INSERT INTO it_verify SELECT g, 'v' || g FROM generate_series(1, 5000) g;`);
  harness = await startHarness();
});
after(async () => {
  await harness?.close();
  await db?.end();
});

test('a raw batch lost before compaction fails the run with VerificationFailed and no _SUCCESS', async () => {
  const prefix = uniquePrefix('verify');
  const destination = `s3://${bucket()}/${prefix}`;
  const runKey = 'verify-1';
  const table = { schema: 'public', name: 'it_verify' };
  const ranges = await planDirect({ table, destination, runKey, partitions: 2 });
  await extractDirect({ table, destination, runKey, ranges, batchRows: 1000 });
  const client = s3();
  const raw = [...(await listObjects(client, prefix)).keys()].filter((k) => k.endsWith('.parquet'));
  assert.equal(raw.length, 6, '2500 rows per partition in batches of 1000');
  await deleteObjects(client, [`${prefix}/${raw[1]!}`]);

  const err = await harness.client.workflow
    .execute('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId: `it-verify-${randomUUID()}`,
      args: [{ source: { table: 'it_verify', cursor: 'id' }, destination, runKey, partitions: { count: 2 } }],
    })
    .then(
      () => assert.fail('the run must fail'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof WorkflowFailedError);
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.type, ErrorType.VerificationFailed);
  const keys = [...(await listObjects(client, prefix)).keys()];
  assert.ok(!keys.some((k) => k.endsWith('_SUCCESS')), 'no _SUCCESS');
  assert.ok(!keys.some((k) => k.endsWith('_manifest.json')), 'no manifest');
});

test('verify: "source" counts each range at the source and catches rows added after extraction', async () => {
  const prefix = uniquePrefix('verify-source');
  const destination = `s3://${bucket()}/${prefix}`;
  const input = (runKey: string) => ({
    source: { table: 'it_verify', cursor: 'id' },
    destination,
    runKey,
    partitions: { count: 2 },
    verify: 'source',
  });
  const run = (runKey: string) =>
    harness.client.workflow.execute('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId: `it-verify-${randomUUID()}`,
      args: [input(runKey)],
    });
  await run('source-ok');
  // Rows written between extraction and verification: extract the partitions first, then insert.
  await db.query('DELETE FROM it_verify WHERE id > 5000');
  const runKey = 'source-changed';
  const ranges = await planDirect({
    table: { schema: 'public', name: 'it_verify' },
    destination,
    runKey,
    partitions: 2,
    strategy: 'auto',
  });
  await extractDirect({
    table: { schema: 'public', name: 'it_verify' },
    destination,
    runKey,
    ranges,
    batchRows: 1000,
  });
  await db.query("INSERT INTO it_verify VALUES (6000, 'late')");
  try {
    const err = await run(runKey).then(
      () => assert.fail('the run must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, ErrorType.VerificationFailed);
    const keys = [...(await listObjects(s3(), prefix)).keys()].filter((k) => k.includes(`run=${runKey}/`));
    assert.ok(!keys.some((k) => k.endsWith('_SUCCESS')));
  } finally {
    await db.query('DELETE FROM it_verify WHERE id > 5000');
  }
});

test('ranges of another plan of the same runKey (two runs racing) fail the run: no _SUCCESS over part of the table', async () => {
  const prefix = uniquePrefix('verify-race');
  const destination = `s3://${bucket()}/${prefix}`;
  const runKey = 'verify-race';
  const table = { schema: 'public', name: 'it_verify' };
  const ranges = await planDirect({ table, destination, runKey, partitions: 2 });
  await extractDirect({ table, destination, runKey, ranges, batchRows: 1000 });
  // Ranges of another split under this plan's chunk key (racing runs can no longer leave this,
  // the chunks are content-addressed and create-only; a damaged or hand-edited chunk can): the
  // plan says 2 partitions, the stored ranges are 4.
  const client = s3();
  const chunk = [...(await listObjects(client, prefix)).keys()].find((k) =>
    /\/_plan\/[0-9a-f]+\/ranges-00000\.json$/.test(k),
  );
  assert.ok(chunk, 'the plan stored its ranges');
  const other = [
    { index: 0, lo: null, hi: '1250', includesNulls: true },
    { index: 1, lo: '1250', hi: '2500', includesNulls: false },
    { index: 2, lo: '2500', hi: '3750', includesNulls: false },
    { index: 3, lo: '3750', hi: null, includesNulls: false },
  ];
  await client.send(
    new PutObjectCommand({
      Bucket: bucket(),
      Key: `${prefix}/${chunk}`,
      Body: JSON.stringify({ partitionCount: 2, ranges: other }, null, 2),
    }),
  );
  const err = await harness.client.workflow
    .execute('exportTable', {
      taskQueue: harness.taskQueue,
      workflowId: `it-verify-${randomUUID()}`,
      args: [{ source: { table: 'it_verify', cursor: 'id' }, destination, runKey, partitions: { count: 2 } }],
    })
    .then(
      () => assert.fail('the run must fail'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
  assert.equal(err.cause.type, ErrorType.VerificationFailed);
  const keys = [...(await listObjects(client, prefix)).keys()];
  assert.ok(!keys.some((k) => k.endsWith('_SUCCESS')), 'no _SUCCESS');
  assert.ok(!keys.some((k) => k.endsWith('_manifest.json')), 'no manifest');
});
