/**
 * The `pg-parquet` CLI as a child process against the real stack (Temporal, PostgreSQL, MinIO and
 * a worker process): exit codes, JSON fields and types, progress lines, Ctrl-C, status, list,
 * cancel, check, input-schema, usage errors and the worker's own lifecycle. Never message text.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../support/worker-process.js';
import { bucket, database, stack, uniquePrefix } from '../support/fixtures.js';
import { startSlowS3Process, type SlowS3Process } from '../support/slow-s3-process.js';
import { CLI_MAIN, cliEnv, cliOn, json, progressLines } from '../support/cli-process.js';

const MAIN = CLI_MAIN;
const PACKAGE = fileURLToPath(new URL('../../package.json', import.meta.url));
const taskQueue = `cli-${randomUUID()}`;
/**
 * A destination whose writes the worker's S3 proxy holds SLOW_PUT_MS each (planning's probe and
 * plan, every batch and marker): runs to watch, interrupt or cancel. (A `where` cannot sleep: it
 * may only filter rows.)
 */
const slowDestination = () => `s3://${bucket()}/${uniquePrefix('cli-slow')}`;
const SLOW_PUT_MS = 1_500;
let slow: SlowS3Process;
let worker: WorkerProcess;
let db: pg.Client;
let connection: Connection;
let temporal: Client;

const env = (extra: NodeJS.ProcessEnv = {}) => cliEnv(taskQueue, extra);
const cli = cliOn(taskQueue);

/** The CLI in the background: its process and a promise of how it ended. */
function cliAsync(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

const runKey = () => `cli-${randomUUID().slice(0, 8)}`;
const s3Destination = () => `s3://${bucket()}/${uniquePrefix('cli')}`;

async function runExists(workflowId: string): Promise<boolean> {
  try {
    const d = await temporal.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING';
  } catch {
    return false;
  }
}

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_cli; CREATE TABLE it_cli (id int PRIMARY KEY, v text);
                  INSERT INTO it_cli SELECT g, 'v' || g FROM generate_series(1, 1234) g;`);
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  temporal = new Client({ connection });
  slow = await startSlowS3Process({ path: /\/cli-slow-/, ms: SLOW_PUT_MS });
  worker = await startWorkerProcess(taskQueue, { AWS_ENDPOINT_URL_S3: slow.url });
});
after(async () => {
  await worker?.kill();
  await slow?.close();
  await db?.end();
  await connection?.close();
});

let completedId = '';

test('export --wait --json prints one JSON summary and exits 0; status reports the manifest', () => {
  const key = runKey();
  const r = cli([
    'export',
    'public.it_cli',
    '--to',
    s3Destination(),
    '--run-key',
    key,
    '--partitions',
    '2',
    '--wait',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const out = json<{ status: string; rows: number; workflowId: string; runKey: string; manifestUrl: string }>(
    r.stdout,
  );
  assert.equal(out.status, 'completed');
  assert.equal(out.rows, 1234);
  assert.equal(out.runKey, key);
  assert.equal(out.workflowId, `pg-parquet/default/public.it_cli/${key}`);
  completedId = out.workflowId;
  const s = cli(['status', out.workflowId, '--json']);
  assert.equal(s.status, 0, s.stderr);
  const status = json<{
    status: string;
    runKey: string;
    table: string;
    manifestUrl: string;
    error: unknown;
    progress: { phase: string; rows: number; partitions: { total: number; done: number } };
  }>(s.stdout);
  assert.equal(status.status, 'COMPLETED');
  assert.equal(status.runKey, key);
  assert.equal(status.table, 'public.it_cli');
  assert.equal(status.manifestUrl, out.manifestUrl);
  assert.match(status.manifestUrl, /^s3:\/\/.*_manifest\.json$/);
  assert.equal(status.error, null);
  assert.equal(status.progress.phase, 'done');
  assert.equal(status.progress.rows, 1234);
  assert.equal(status.progress.partitions.done, status.progress.partitions.total);
  // The human form exits the same way.
  assert.equal(cli(['status', out.workflowId]).status, 0);
});

test('a failed export exits 1 with type, message, workflowId and runKey; status shows the reason', () => {
  const key = runKey();
  const r = cli([
    'export',
    'public.no_such_table',
    '--to',
    s3Destination(),
    '--run-key',
    key,
    '--wait',
    '--json',
  ]);
  assert.equal(r.status, 1);
  const out = json<{
    status: string;
    workflowId: string;
    runKey: string;
    error: { type: string; message: string };
  }>(r.stdout);
  assert.equal(out.status, 'failed');
  assert.equal(out.error.type, 'PgParquetTableNotFound');
  assert.equal(typeof out.error.message, 'string');
  assert.ok(out.error.message.length > 0);
  assert.equal(out.runKey, key);
  assert.equal(out.workflowId, `pg-parquet/default/public.no_such_table/${key}`);
  const s = cli(['status', out.workflowId, '--json']);
  assert.equal(s.status, 1);
  const status = json<{ status: string; manifestUrl: unknown; error: { type: string; message: string } }>(
    s.stdout,
  );
  assert.equal(status.status, 'FAILED');
  assert.equal(status.error.type, 'PgParquetTableNotFound');
  assert.equal(typeof status.error.message, 'string');
  assert.equal(status.manifestUrl, null);
});

test('without a terminal, --wait prints parseable progress lines, at phase changes and periodically', () => {
  const r = cli([
    'export',
    'public.it_cli',
    '--to',
    slowDestination(),
    '--partitions',
    '3',
    '--wait',
    '--progress-interval',
    '0.5',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = progressLines(r.stderr);
  assert.ok(lines.length >= 3, r.stderr);
  const phases = new Set(lines.map((l) => l.phase));
  assert.ok(phases.has('extracting'), [...phases].join());
  for (const l of lines) {
    assert.match(l.partitions!, /^\d+\/\d+$/);
    for (const k of ['running', 'rows', 'bytes', 'elapsed_s']) assert.match(l[k]!, /^\d+$/, k);
    for (const k of ['rows_per_s', 'bytes_per_s', 'eta_s']) assert.match(l[k]!, /^(\d+|-)$/, k);
  }
  const extracting = lines.filter((l) => l.phase === 'extracting');
  // Periodic: more than one line within the extraction (each partition's writes are held).
  assert.ok(extracting.length >= 2, r.stderr);
});

test('Ctrl-C while waiting exits 130, says how to follow or cancel; the run goes on; status, cancel, list', async () => {
  const key = runKey();
  const workflowId = `pg-parquet/default/public.it_cli/${key}`;
  const run = cliAsync([
    'export',
    'public.it_cli',
    '--to',
    slowDestination(),
    '--run-key',
    key,
    '--partitions',
    '4',
    '--wait',
    '--json',
  ]);
  await waitFor('the run to start', () => runExists(workflowId), 60_000);
  await new Promise((r) => setTimeout(r, 1500));
  run.child.kill('SIGINT');
  const ended = await run.done;
  assert.equal(ended.code, 130, ended.stderr);
  const detached = json<{ status: string; workflowId: string; runKey: string }>(ended.stdout);
  assert.equal(detached.status, 'running');
  assert.equal(detached.workflowId, workflowId);
  assert.equal(detached.runKey, key);
  assert.ok(ended.stderr.includes(workflowId), 'stderr names the run to follow or cancel');
  assert.ok(await runExists(workflowId), 'the run continues after the CLI stopped following');

  const s = cli(['status', workflowId, '--json']);
  assert.equal(s.status, 0, s.stderr);
  const status = json<{
    status: string;
    progress: { phase: string; partitions: { total: number } } | null;
    pending: { activity: string; state: string; attempt: number; rows: number }[];
  }>(s.stdout);
  assert.equal(status.status, 'RUNNING');
  assert.ok(status.progress, 'a running run answers the progress query');
  assert.equal(typeof status.progress.phase, 'string');
  assert.ok(Array.isArray(status.pending));
  for (const p of status.pending) {
    assert.equal(typeof p.activity, 'string');
    assert.equal(typeof p.state, 'string');
    assert.equal(typeof p.attempt, 'number');
    assert.equal(typeof p.rows, 'number');
  }

  const c = cli(['cancel', workflowId, '--wait', '--json']);
  assert.equal(c.status, 0, c.stderr);
  const cancelled = json<{ workflowId: string; runKey: string; status: string }>(c.stdout);
  assert.equal(cancelled.workflowId, workflowId);
  assert.equal(cancelled.runKey, key);
  assert.equal(cancelled.status, 'CANCELLED');
  const after = cli(['status', workflowId, '--json']);
  assert.equal(after.status, 1);
  assert.equal(json<{ status: string; error: { type: string } }>(after.stdout).status, 'CANCELLED');
  assert.equal(typeof json<{ error: { type: string } }>(after.stdout).error.type, 'string');
  // A run that is not running cannot be cancelled; an unknown id is not found.
  const again = cli(['cancel', workflowId, '--json']);
  assert.equal(again.status, 1);
  assert.equal(json<{ error: { type: string } }>(again.stdout).error.type, 'PgParquetRunNotFound');
  const unknown = cli(['status', `pg-parquet/default/public.it_cli/${runKey()}`, '--json']);
  assert.equal(unknown.status, 1);
  assert.equal(json<{ error: { type: string } }>(unknown.stdout).error.type, 'PgParquetRunNotFound');

  // list: the table's runs, newest first, with status and runKey.
  await waitFor(
    'visibility to show the cancelled run',
    async () => {
      const l = cli(['list', 'public.it_cli', '--json']);
      const runs = json<{ runs: { workflowId: string; status: string }[] }>(l.stdout).runs;
      return runs.some((x) => x.workflowId === workflowId && x.status === 'CANCELLED');
    },
    30_000,
  );
  const l = cli(['list', 'public.it_cli', '--json']);
  assert.equal(l.status, 0, l.stderr);
  const runs = json<{ runs: { workflowId: string; runKey: string; status: string; startTime: string }[] }>(
    l.stdout,
  ).runs;
  assert.ok(runs.length >= 2);
  for (const x of runs) {
    assert.ok(x.workflowId.startsWith('pg-parquet/default/public.it_cli/'), x.workflowId);
    assert.equal(typeof x.runKey, 'string');
    assert.equal(typeof x.status, 'string');
  }
  const starts = runs.map((x) => Date.parse(x.startTime));
  assert.deepEqual(
    starts,
    [...starts].sort((a, b) => b - a),
    'newest first',
  );
  assert.ok(runs.some((x) => x.workflowId === completedId && x.status === 'COMPLETED'));
  // All exports on the task queue include the other table's failed run too.
  const all = json<{ runs: { workflowId: string }[] }>(cli(['list', '--json']).stdout).runs;
  assert.ok(all.some((x) => x.workflowId.startsWith('pg-parquet/default/public.no_such_table/')));
  assert.ok(all.length > runs.length);
  assert.equal(cli(['list', 'public.it_cli']).status, 0);
});

test('on a terminal, --wait draws a bar without NaN or Infinity; Ctrl-C shows the cursor again and exits 130', async (t) => {
  if (spawnSync('script', ['--version']).status !== 0) {
    t.skip('util-linux `script` (a pseudo-terminal) is not installed');
    return;
  }
  const key = runKey();
  const workflowId = `pg-parquet/default/public.it_cli/${key}`;
  const command = [
    process.execPath,
    '--import',
    'tsx',
    MAIN,
    'export',
    'public.it_cli',
    '--to',
    slowDestination(),
    '--run-key',
    key,
    '--partitions',
    '4',
    '--wait',
  ].join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: env(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = new Promise<number | null>((resolve) => child.once('close', resolve));
  await waitFor('the run to start', () => runExists(workflowId), 60_000);
  await waitFor('the bar', () => Promise.resolve(out.includes('extracting')), 60_000);
  await new Promise((r) => setTimeout(r, 1500));
  child.stdin.write('\x03'); // Ctrl-C on the terminal: SIGINT to the CLI
  assert.equal(await code, 130, out);
  const hide = out.indexOf('\x1b[?25l');
  const show = out.lastIndexOf('\x1b[?25h');
  assert.ok(hide >= 0 && show > hide, 'the cursor is hidden while the bar runs and shown again after Ctrl-C');
  assert.ok(out.slice(show).includes(workflowId), 'after the bar: how to follow or cancel the run');
  assert.doesNotMatch(out, /NaN|Infinity|undefined/);
  assert.ok(await runExists(workflowId));
  assert.equal(cli(['cancel', workflowId, '--wait', '--json']).status, 0);
});

test('usage errors exit 2 before anything starts, with --json a typed error; they never hang', () => {
  const cases: string[][] = [
    ['worker', '--max-activities', 'abc'],
    ['worker', '--max-activities', '0'],
    ['export', 'public.it_cli', '--to', s3Destination(), '--partitions', '0', '--json'],
    ['export', 'public.it_cli', '--to', s3Destination(), '--partitions', 'x', '--json'],
    ['export', 'public.it_cli', '--to', s3Destination(), '--partitions', '100001', '--json'],
    ['export', 'public.it_cli', '--to', s3Destination(), '--no-such-flag', '--json'],
    ['export', 'public.it_cli', '--to', 'ftp://nowhere', '--json'],
    ['export', 'public.it_cli', '--to', s3Destination(), '--run-key', 'not a key', '--json'],
    ['export', 'public.it_cli', '--to', s3Destination(), '--wait', '--progress-interval', '-1', '--json'],
    ['list', '--limit', '0', '--json'],
    ['check', '--to', 'relative/path', '--json'],
    ['no-such-command', '--json'],
    ['status', '--json'],
  ];
  for (const args of cases) {
    const t0 = Date.now();
    const r = cli(args, { TEMPORAL_ADDRESS: '127.0.0.1:1' }); // nothing may be contacted
    assert.equal(r.signal, null, `${args.join(' ')} hung`);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(Date.now() - t0 < 30_000);
    if (args.includes('--json')) {
      const out = json<{ status: string; error: { type: string; message: string } }>(r.stdout);
      assert.equal(out.status, 'failed');
      assert.match(out.error.type, /^PgParquetInvalid/);
      assert.equal(typeof out.error.message, 'string');
    } else {
      assert.ok(r.stderr.length > 0);
    }
  }
  assert.equal(
    json<{ error: { type: string } }>(cli(['export', 'public.it_cli', '--to', 'ftp://x', '--json']).stdout)
      .error.type,
    'PgParquetInvalidDestination',
  );
});

test('the worker exits 0 on SIGTERM and on SIGINT', async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const w = await startWorkerProcess(`cli-lifecycle-${randomUUID()}`);
    const exited = new Promise<number | null>((resolve) => w.child.once('exit', (code) => resolve(code)));
    w.child.kill(signal);
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000)),
    ]);
    if (code === 'hung') await w.kill();
    assert.equal(code, 0, `worker after ${signal}`);
  }
});

test('--version prints the package version; input-schema prints the input JSON Schema', () => {
  const v = cli(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), json<{ version: string }>(readFileSync(PACKAGE, 'utf8')).version);
  const s = cli(['input-schema']);
  assert.equal(s.status, 0, s.stderr);
  const schema = json<{
    $schema: string;
    type: string;
    required: string[];
    properties: Record<string, { type?: string; properties?: Record<string, unknown> }>;
  }>(s.stdout);
  assert.match(schema.$schema, /json-schema\.org/);
  assert.equal(schema.type, 'object');
  assert.deepEqual([...schema.required].sort(), ['destination', 'source']);
  for (const k of [
    'source',
    'destination',
    'runKey',
    'partitions',
    'batch',
    'transform',
    'parquet',
    'compaction',
  ]) {
    assert.ok(k in schema.properties, k);
  }
  assert.ok('table' in schema.properties.source!.properties!);
});

test('check says which of PostgreSQL, Temporal and the destination fails', () => {
  type Checks = { ok: boolean; checks: { name: string; status: string; error: { type: string } | null }[] };
  const byName = (c: Checks) => Object.fromEntries(c.checks.map((x) => [x.name, x]));

  const good = cli(['check', '--to', s3Destination(), '--json']);
  assert.equal(good.status, 0, good.stdout + good.stderr);
  const g = json<Checks>(good.stdout);
  assert.equal(g.ok, true);
  assert.deepEqual(
    g.checks.map((x) => [x.name, x.status]),
    [
      ['postgres', 'ok'],
      ['temporal', 'ok'],
      ['destination', 'ok'],
    ],
  );

  const folder = mkdtempSync(join(tmpdir(), 'pg-parquet-check-'));
  const file = cli(['check', '--to', pathToFileURL(join(folder, 'new', 'sub')).href, '--json']);
  assert.equal(file.status, 0, file.stdout);
  assert.equal(byName(json<Checks>(file.stdout)).destination!.status, 'ok');

  const noBucket = cli(['check', '--to', `s3://no-such-bucket-${randomUUID().slice(0, 8)}/x`, '--json']);
  assert.equal(noBucket.status, 1);
  const nb = byName(json<Checks>(noBucket.stdout));
  assert.equal(nb.destination!.status, 'failed');
  assert.equal(nb.destination!.error!.type, 'PgParquetDestinationNotFound');
  assert.equal(nb.postgres!.status, 'ok');
  assert.equal(nb.temporal!.status, 'ok');

  const noConnection = cli(['check', '--connection', 'nowhere', '--json']);
  assert.equal(noConnection.status, 1);
  const nc = byName(json<Checks>(noConnection.stdout));
  assert.equal(nc.postgres!.error!.type, 'PgParquetConnectionNotConfigured');
  assert.equal(nc.destination!.status, 'skipped');

  const badPg = cli(['check', '--connection', 'broken', '--json'], {
    PG_PARQUET_CONNECTION_BROKEN: 'postgres://nobody:nothing@127.0.0.1:1/none',
  });
  assert.equal(badPg.status, 1);
  assert.equal(byName(json<Checks>(badPg.stdout)).postgres!.error!.type, 'PgParquetSourceUnavailable');

  const noTemporal = cli(['check', '--timeout', '5', '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(noTemporal.status, 1);
  const nt = byName(json<Checks>(noTemporal.stdout));
  assert.equal(nt.temporal!.status, 'failed');
  assert.equal(nt.temporal!.error!.type, 'PgParquetTemporalUnavailable');
  assert.equal(nt.postgres!.status, 'ok');
  // The human form exits the same way.
  assert.equal(cli(['check', '--connection', 'nowhere']).status, 1);
});
