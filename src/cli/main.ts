#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 node --initial-old-space-size=128
// Three settings for the worker (README, Operations) that must be in place when the process starts,
// hence this line: NODE_OPTIONS refuses V8 heap flags, and glibc reads its variables only then.
// - The flag lets the old generation reach 128 MiB before V8 marks it: by default V8 keeps it at
//   ~1.1x the live ~55 MiB, so a worker marked its whole heap 9-19 times per million rows on the
//   helper threads, a quarter of its CPU (whole run -12% wall, -23% worker CPU, +64 MiB peak RSS).
// - Two malloc arenas instead of one per allocating thread: -38 to -59 MiB peak RSS for ~2% CPU.
// - A fixed mmap threshold of 4 MiB: glibc otherwise raises it after each large free (up to
//   32 MiB), so the batches' 4-32 MiB buffers (Parquet files, IPC streams) came from the heap,
//   which does not give back what is freed in its middle: -50 to -110 MiB peak RSS, CPU unchanged.
/**
 * `pg-parquet`: run a worker, start, follow, list and cancel exports, schedule them, check the
 * setup, run the demo.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { parseDestination } from '../contract/destination-url.js';
import { exportInputJsonSchema } from '../contract/export-input.js';
import { parseQualifiedName } from '../contract/table-name.js';
import { connectClient } from '../temporal-connection.js';
import { runExportCommand, type ExportCommandFlags } from './export-command.js';
import { addInputOptions } from './export-options.js';
import { ExitCode, reportFailure } from './failure.js';
import { intFlag, secondsFlag } from './flags.js';
import { print } from './output.js';
import { registerScheduleCommands } from './schedule-command.js';
import {
  cancelRun,
  defaultListQueue,
  listQuery,
  listRuns,
  printList,
  printStatus,
  runStatus,
  statusExitCode,
} from './status.js';

/** The version in this package's package.json (from source or from dist/). */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

// The AWS SDK warns on every start under Node 20 that its releases from 2027 need Node 22; the SDK
// is pinned, so for this CLI the warning is noise (README, "Node.js versions"). A user's own
// setting of the variable wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command('pg-parquet')
  .description('Export PostgreSQL tables to Parquet on S3, durably, with Temporal.')
  .version(packageVersion(), '-V, --version', 'print the version')
  .exitOverride()
  // Usage errors are reported once, by reportFailure (as JSON with --json), with exit code 2.
  .configureOutput({ outputError: () => undefined });

program
  .command('worker')
  .description('run a worker with the plugin (TEMPORAL_ADDRESS, DATABASE_URL, AWS_* from the environment)')
  .addOption(
    new Option('--max-activities <n>', 'concurrent activities on this worker')
      .argParser(intFlag(1, 10_000))
      .default(4),
  )
  .action(async (opts: { maxActivities: number }) => {
    // The worker's modules (the native Temporal core, parquet-wasm, pg) load only for this
    // command: `export`, `status` and the others start ~0.2 s sooner without them.
    const { createWorker } = await import('../worker.js');
    const { sharedEncoder } = await import('../parquet/encoder-pool.js');
    try {
      const worker = await createWorker({ maxConcurrentActivities: opts.maxActivities });
      console.error(`pg-parquet worker polling task queue "${worker.options.taskQueue}"`);
      // SIGINT and SIGTERM shut the worker down gracefully (Temporal's Runtime handles them).
      await worker.run();
      console.error('pg-parquet worker stopped');
    } finally {
      await sharedEncoder().close();
    }
  });

addInputOptions(
  program
    .command('export')
    .description(
      'start an export of <table> (schema.table), or with --schema of every matching table of a schema',
    )
    .argument('[table]', 'schema.table (may come from --input)'),
)
  .option('--run-key <key>', 'run key (default: now, UTC); the same key resumes a failed run')
  .option('--wait', 'wait for the end, showing progress (a bar on a terminal, log lines otherwise)')
  .addOption(
    new Option(
      '--progress-interval <seconds>',
      'seconds between progress lines when stderr is not a terminal',
    )
      .argParser(secondsFlag)
      .default(10),
  )
  .option('--json', 'print one JSON document')
  .action(async (table: string | undefined, flags: ExportCommandFlags) => {
    await runExportCommand(table, flags);
  });

registerScheduleCommands(program);

program
  .command('status')
  .description(
    'show the state of an export: progress while it runs, the manifest once done, the failure if it failed',
  )
  .argument('<workflowId>')
  .option('--json', 'print one JSON document')
  .action(async (workflowId: string, flags: { json?: boolean }) => {
    const client = await connectClient();
    try {
      const s = await runStatus(client, workflowId);
      print(flags.json, s, () => printStatus(s));
      process.exitCode = statusExitCode(s);
    } finally {
      await client.connection.close();
    }
  });

program
  .command('list')
  .description('list export runs, newest first: of [table], or all exportTable runs on the task queue')
  .argument('[table]', 'schema.table: only its runs')
  .option('--connection <name>', 'connection name of the runs (part of their workflow id)', 'default')
  .addOption(new Option('--limit <n>', 'most runs to show').argParser(intFlag(1, 10_000)).default(20))
  .addOption(
    new Option('--status <status>', 'only runs in this state').choices([
      'Running',
      'Completed',
      'Failed',
      'Canceled',
      'Terminated',
      'TimedOut',
    ]),
  )
  .option('--all-queues', 'runs on any task queue, not only PG_PARQUET_TASK_QUEUE (default pg-parquet)')
  .option('--json', 'print one JSON document')
  .action(
    async (
      table: string | undefined,
      flags: { connection: string; limit: number; status?: string; allQueues?: boolean; json?: boolean },
    ) => {
      // Validate the table name before connecting.
      const options = {
        ...(table === undefined ? {} : { table }),
        connection: flags.connection,
        taskQueue: defaultListQueue(flags.allQueues),
        limit: flags.limit,
        ...(flags.status === undefined ? {} : { status: flags.status }),
      };
      const query = listQuery(options);
      const client = await connectClient();
      try {
        const runs = await listRuns(client, options);
        print(flags.json, { query, runs }, () => printList(runs));
      } finally {
        await client.connection.close();
      }
    },
  );

program
  .command('runs')
  .description(
    'list the runs of <table> stored under a destination: runKey, state, mode, watermark range, rows',
  )
  .argument('<table>', 'schema.table')
  .requiredOption('--to <url>', 'destination: s3://bucket/prefix or file:///abs/path')
  .option('--json', 'print one JSON document')
  .action(async (table: string, flags: { to: string; json?: boolean }) => {
    // Validate before reaching the store (exit 2).
    const name = parseQualifiedName(table, 'table');
    parseDestination(flags.to);
    const { printRuns, tableRuns } = await import('./runs.js');
    const runs = await tableRuns({ table: name, destination: flags.to });
    print(flags.json, { table, destination: flags.to, runs }, () => printRuns(runs));
  });

program
  .command('cancel')
  .description('cancel a running export (its finished partitions stay; the same id can resume later)')
  .argument('<workflowId>')
  .option('--wait', 'wait until the run has ended')
  .option('--json', 'print one JSON document')
  .action(async (workflowId: string, flags: { wait?: boolean; json?: boolean }) => {
    const client = await connectClient();
    try {
      const r = await cancelRun(client, workflowId, flags.wait === true);
      print(flags.json, r, () => console.log(`${workflowId}: ${r.status}`));
    } finally {
      await client.connection.close();
    }
  });

program
  .command('check')
  .description(
    'check that PostgreSQL, Temporal and the destination (--to) can be reached; says which one fails',
  )
  .option('--connection <name>', 'connection name, resolved as the worker does', 'default')
  .option('--to <url>', 'destination to probe: s3://bucket/prefix or file:///abs/path')
  .addOption(
    new Option('--timeout <seconds>', 'seconds to wait for each service').argParser(secondsFlag).default(20),
  )
  .option('--json', 'print one JSON document')
  .action(async (flags: { connection: string; to?: string; timeout: number; json?: boolean }) => {
    if (flags.to !== undefined) parseDestination(flags.to);
    const { printChecks, runChecks } = await import('./check.js');
    const results = await runChecks({
      connection: flags.connection,
      ...(flags.to === undefined ? {} : { to: flags.to }),
      timeoutMs: flags.timeout * 1000,
    });
    const ok = results.every((r) => r.status !== 'failed');
    print(flags.json, { ok, checks: results }, () => printChecks(results));
    process.exitCode = ok ? ExitCode.ok : ExitCode.failed;
  });

program
  .command('input-schema')
  .description('print the JSON Schema of the exportTable workflow input (what the Temporal UI form takes)')
  .action(() => {
    console.log(JSON.stringify(exportInputJsonSchema(), null, 2));
  });

program
  .command('demo')
  .description('everything local: stack, sample table, worker, export to the local MinIO')
  .addOption(new Option('--rows <n>', 'rows in the sample table').argParser(intFlag()).default(2_000_000))
  .addOption(new Option('--partitions <n>', 'partitions').argParser(intFlag(1, 100_000)).default(4))
  .action(async (opts: { rows: number; partitions: number }) => {
    const { runDemo } = await import('./demo.js');
    await runDemo({ rows: opts.rows, partitions: opts.partitions });
  });

/** Exit code 0 only on success; usage errors 2; failures 1 with the error's type and message. */
async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    // --help and --version end through the same path, successfully.
    if (err instanceof CommanderError && err.exitCode === 0) return ExitCode.ok;
    return reportFailure(err, process.argv.includes('--json'));
  }
}

// Exit explicitly: a worker's runtime or encoder threads must not keep a failed command alive.
void main().then((code) => process.exit(code));
