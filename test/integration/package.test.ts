/**
 * The package as a user gets it: `npm pack` (prepack builds dist/), installed into a fresh folder
 * beside the Temporal SDK it peers with, then
 *  (a) a TypeScript consumer of the public API compiled with `tsc --noEmit`, skipLibCheck off;
 *  (b) the README's worker, as ESM JavaScript from the installed package, against the local
 *      Temporal dev server, and an export through the installed `pg-parquet` bin, whose manifest
 *      must count the table's rows;
 *  (c) on that worker, an export started and followed by a TypeScript program (the README's
 *      client example, compiled with the installed tsc), with the table's rows.
 * npm reuses its cache (`--prefer-offline`), so this takes well under a minute once warm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { bucket, database, getObject, s3, stack, uniquePrefix } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const ROWS = 3210;

let work: string;
let app: string;
let db: pg.Client;

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env = process.env,
): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The versions the repository builds and tests with (its devDependencies), for each peer. */
function testedPeers(): string[] {
  return Object.keys(PACKAGE.peerDependencies).map((name) => `${name}@${PACKAGE.devDependencies[name]}`);
}

before(async () => {
  stack();
  db = await database();
  await db.query(`DROP TABLE IF EXISTS it_package; CREATE TABLE it_package (id bigint PRIMARY KEY, v text);
                  INSERT INTO it_package SELECT g, 'v' || g FROM generate_series(1, ${ROWS}) g;`);
  work = mkdtempSync(join(tmpdir(), 'pg-parquet-pack-'));
  app = join(work, 'app');
});

after(async () => {
  await db?.query('DROP TABLE IF EXISTS it_package').catch(() => undefined);
  await db?.end();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('npm pack builds dist/ and the tarball installs beside its peers with one copy of the SDK', (t) => {
  let started = Date.now();
  ok(run('npm', ['pack', '--pack-destination', work, '--silent'], ROOT), 'npm pack');
  const tarball = readdirSync(work).find((f) => f.startsWith(`${PACKAGE.name}-`) && f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote no tarball');
  t.diagnostic(`npm pack (prepack build): ${Date.now() - started} ms`);

  const listing = ok(run('tar', ['tzf', join(work, tarball)], work), 'tar').stdout.split('\n');
  for (const file of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/bin/pg-parquet.js',
    'dist/src/cli/main.js',
    'dist/workflows/index.js',
  ]) {
    assert.ok(listing.includes(`package/${file}`), `${file} is missing from the tarball`);
  }
  assert.ok(
    !listing.some((f) => /^package\/(test|bench|src|activities|workflows)\//.test(f)),
    'sources or tests in the tarball',
  );

  started = Date.now();
  ok(run('mkdir', ['-p', app], work), 'mkdir');
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  ok(
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        join(work, tarball),
        ...testedPeers(),
        `typescript@${PACKAGE.devDependencies.typescript}`,
        `@types/node@${PACKAGE.devDependencies['@types/node']}`,
      ],
      app,
    ),
    'npm install',
  );
  t.diagnostic(`npm install (tarball + peers + typescript): ${Date.now() - started} ms`);
  // Peers, not dependencies: the application's SDK is the only one.
  assert.equal(existsSync(join(app, 'node_modules', PACKAGE.name, 'node_modules', '@temporalio')), false);
  assert.ok(existsSync(join(app, 'node_modules', '@temporalio', 'worker', 'package.json')));
});

test('a TypeScript consumer of the public API compiles without skipLibCheck', (t) => {
  assert.ok(existsSync(join(app, 'node_modules', PACKAGE.name)), 'the install step failed');
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      include: ['consumer.ts'],
    }),
  );
  writeFileSync(
    join(app, 'consumer.ts'),
    `import { Worker } from '@temporalio/worker';
import {
  connectClient,
  connectWorker,
  createActivities,
  createWorker,
  ErrorType,
  PgParquetError,
  PgParquetPlugin,
  startExport,
  taskQueueFromEnv,
  waitForExport,
  type ActivityDeps,
  type ExportProgress,
  type ExportTableInput,
  type ExportTableResult,
  type Manifest,
} from 'temporal-pg-parquet';
import { exportTable, exportWorkflowId } from 'temporal-pg-parquet/workflows';

const deps: ActivityDeps = {
  resolveConnection: (name) => ({ connectionString: process.env[\`DB_\${name.toUpperCase()}\`] }),
};
const input: ExportTableInput = { source: { table: 'public.events' }, destination: 's3://lake/pg' };

export async function main(): Promise<ExportTableResult> {
  const { connection, namespace } = await connectWorker();
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: taskQueueFromEnv(),
    plugins: [new PgParquetPlugin(deps)],
  });
  void worker;
  void createWorker;
  void createActivities(deps);
  const client = await connectClient();
  const { handle } = await startExport(client, input);
  return waitForExport(handle, (p: ExportProgress) => console.log(p.phase, p.rows));
}

export function isTerminal(err: unknown): boolean {
  return err instanceof PgParquetError && err.type === ErrorType.TableNotFound && !err.retryable;
}
export type Rows = Manifest['totals']['rows'];
export const ids: string = exportWorkflowId('default', 'public.events', 'k');
export const wf: typeof exportTable = exportTable;
`,
  );
  const started = Date.now();
  const r = run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app);
  t.diagnostic(`tsc --noEmit: ${Date.now() - started} ms`);
  const diagnostics = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
  // Known upstream issue (temporalio/sdk-typescript#1668): @temporalio/common's time.d.ts imports
  // 'ms', whose package.json has no "types" condition in "exports", so under NodeNext its types do
  // not resolve. Any Temporal SDK consumer without skipLibCheck gets it; it is not ours.
  const ours = diagnostics.filter(
    (l) => !/^node_modules\/@temporalio\/common\/lib\/time\.d\.ts\(\d+,\d+\): error TS7016: .*'ms'/.test(l),
  );
  assert.deepEqual(ours, [], r.stdout);
  if (diagnostics.length > 0)
    t.diagnostic(`upstream: ${diagnostics.length} TS7016 for 'ms' in @temporalio/common`);
});

test('the README worker runs from the installed package and the installed bin exports a table', async (t) => {
  assert.ok(existsSync(join(app, 'node_modules', PACKAGE.name)), 'the install step failed');
  // The README's plugin example, as plain ESM JavaScript.
  writeFileSync(
    join(app, 'worker.mjs'),
    `import { Worker } from '@temporalio/worker';
import { connectWorker, PgParquetPlugin, taskQueueFromEnv } from 'temporal-pg-parquet';

const { connection, namespace } = await connectWorker(); // TEMPORAL_ADDRESS, profiles, … (envconfig)
const worker = await Worker.create({
  connection,
  namespace,
  taskQueue: taskQueueFromEnv(), // PG_PARQUET_TASK_QUEUE, else "pg-parquet"
  plugins: [new PgParquetPlugin()],
  maxConcurrentActivityTaskExecutions: 4,
});
console.error('worker ready');
await worker.run();
await connection.close();
`,
  );
  const taskQueue = `package-${randomUUID()}`;
  const env = { ...process.env, PG_PARQUET_TASK_QUEUE: taskQueue };
  let started = Date.now();
  const child = spawn(process.execPath, ['worker.mjs'], {
    cwd: app,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start:\n${log}`)), 90_000);
      child.stderr.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('worker ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited with ${code}:\n${log}`));
      });
    });
    t.diagnostic(`worker from the installed package ready: ${Date.now() - started} ms`);

    started = Date.now();
    const runKey = `pack-${randomUUID().slice(0, 8)}`;
    const prefix = uniquePrefix('package');
    const r = ok(
      run(
        join(app, 'node_modules', '.bin', 'pg-parquet'),
        [
          'export',
          'public.it_package',
          '--to',
          `s3://${bucket()}/${prefix}`,
          '--run-key',
          runKey,
          '--partitions',
          '2',
          '--wait',
          '--json',
        ],
        app,
        env,
      ),
      'pg-parquet export',
    );
    t.diagnostic(`export through the installed bin: ${Date.now() - started} ms`);
    const out = JSON.parse(r.stdout) as { status: string; rows: number; manifestUrl: string };
    assert.equal(out.status, 'completed');
    const manifestKey = out.manifestUrl.replace(`s3://${bucket()}/`, '');
    assert.equal(manifestKey, `${prefix}/public.it_package/run=${runKey}/_manifest.json`);
    const manifest = JSON.parse(Buffer.from(await getObject(s3(), manifestKey)).toString('utf8')) as {
      totals: { rows: number };
    };
    const { rows } = (await db.query<{ rows: number }>('SELECT count(*)::int AS rows FROM it_package'))
      .rows[0]!;
    assert.equal(rows, ROWS);
    assert.equal(manifest.totals.rows, rows);
    assert.equal(out.rows, rows);

    // (c) The README's client example as a TypeScript program, compiled against the installed
    // package (emitting; test (a) already compiles without skipLibCheck) and run on the worker above.
    started = Date.now();
    writeFileSync(
      join(app, 'export.mts'),
      `import { connectClient, startExport, waitForExport } from 'temporal-pg-parquet';

const [destination, runKey] = process.argv.slice(2) as [string, string];
const client = await connectClient(); // TEMPORAL_ADDRESS etc.
const { handle } = await startExport(client, { source: { table: 'public.it_package' }, destination, runKey });
const result = await waitForExport(handle, (p) => console.error(p.phase, p.rows));
console.log(JSON.stringify({ rows: result.rows, manifestUrl: result.manifestUrl }));
await client.connection.close();
`,
    );
    writeFileSync(
      join(app, 'tsconfig.run.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          outDir: 'build',
          types: ['node'],
        },
        files: ['export.mts'],
      }),
    );
    ok(run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.run.json'], app), 'tsc of export.mts');
    const tsRunKey = `pack-ts-${randomUUID().slice(0, 8)}`;
    const ts = ok(
      run(process.execPath, [join('build', 'export.mjs'), `s3://${bucket()}/${prefix}`, tsRunKey], app, env),
      'the TypeScript export',
    );
    t.diagnostic(`export through the TypeScript client: ${Date.now() - started} ms`);
    const tsOut = JSON.parse(ts.stdout) as { rows: number; manifestUrl: string };
    assert.equal(tsOut.rows, rows);
    assert.equal(
      tsOut.manifestUrl,
      `s3://${bucket()}/${prefix}/public.it_package/run=${tsRunKey}/_manifest.json`,
    );
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
});
