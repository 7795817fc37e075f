#!/usr/bin/env node
/** `pg-parquet`: run a worker, start and follow exports, run the local demo. */
import { Command, Option } from 'commander';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { startExport, waitForExport, queryProgress } from '../client.js';
import { PgParquetError } from '../contract/errors.js';
import { connectClient } from '../temporal-connection.js';
import { createWorker } from '../worker.js';
import { exportInputFromFlags, type ExportFlags } from './export-options.js';
import { formatBytes, formatCount, ProgressView } from './progress-view.js';
import { runDemo } from './demo.js';

// The AWS SDK warns on every start under Node 20 that its releases from 2027 need Node 22; the SDK
// is pinned, so for this CLI the warning is noise (README, "Node.js versions"). A user's own
// setting of the variable wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command('pg-parquet')
  .description('Export PostgreSQL tables to Parquet on S3, durably, with Temporal.')
  .showHelpAfterError();

program
  .command('worker')
  .description('run a worker with the plugin (TEMPORAL_ADDRESS, DATABASE_URL, AWS_* from the environment)')
  .option('--max-activities <n>', 'concurrent activities on this worker', '4')
  .action(async (opts: { maxActivities: string }) => {
    const worker = await createWorker({ maxConcurrentActivities: Number(opts.maxActivities) });
    console.error(`pg-parquet worker polling task queue "${worker.options.taskQueue}"`);
    await worker.run();
  });

program
  .command('export')
  .description('start an export of <table> (schema.table)')
  .argument('[table]', 'schema.table (may come from --input)')
  .option('--to <url>', 'destination: s3://bucket/prefix or file:///abs/path')
  .option('--cursor <column>', 'cursor column (default: the primary key)')
  .option('--run-key <key>', 'run key (default: now, UTC); the same key resumes a failed run')
  .option('--connection <name>', 'connection name resolved by the worker', 'default')
  .addOption(new Option('--partitions <n>', 'fixed partition count').conflicts('targetBytes'))
  .option('--target-bytes <bytes>', 'bytes of source per partition')
  .option('--concurrency <n>', 'partitions extracted at once')
  .option('--batch-rows <n>', 'rows per batch file')
  .option('--where <expr>', 'one boolean SQL expression filtering rows')
  .option('--columns <list>', 'comma-separated columns to export')
  .option('--input <file>', 'workflow input JSON (as pasted in the Temporal UI); flags override it')
  .option('--wait', 'wait for the end, showing progress')
  .option('--json', 'print one JSON document')
  .action(async (table: string | undefined, flags: ExportFlags & { wait?: boolean; json?: boolean }) => {
    const input = exportInputFromFlags(table, flags);
    const client = await connectClient();
    try {
      const started = await startExport(client, input);
      if (!flags.wait) {
        print(flags.json, { workflowId: started.workflowId, runKey: started.input.runKey }, () =>
          console.log(`started ${started.workflowId}`),
        );
        return;
      }
      if (!flags.json) console.error(`started ${started.workflowId}`);
      const view = new ProgressView(!flags.json && process.stderr.isTTY === true);
      try {
        const result = await waitForExport(started.handle, (p) => view.update(p));
        view.stop();
        print(flags.json, { workflowId: started.workflowId, status: 'completed', ...result }, () =>
          console.log(
            `exported ${formatCount(result.rows)} rows of ${result.table} in ${result.files} files ` +
              `(${formatBytes(result.bytes)}); manifest: ${result.manifestUrl}`,
          ),
        );
      } finally {
        view.stop();
      }
    } finally {
      await client.connection.close();
    }
  });

program
  .command('status')
  .description('show the state and progress of an export')
  .argument('<workflowId>')
  .option('--json', 'print one JSON document')
  .action(async (workflowId: string, flags: { json?: boolean }) => {
    const client = await connectClient();
    try {
      const handle = client.workflow.getHandle(workflowId);
      const d = await handle.describe();
      const progress = await queryProgress(handle);
      const status = d.status.name;
      print(flags.json, { workflowId, status, progress }, () => {
        console.log(`${workflowId}: ${status}`);
        if (progress) {
          const p = progress.partitions;
          console.log(
            `  phase ${progress.phase}; partitions ${p.done}/${p.total} done, ${p.running} running; ` +
              `${formatCount(progress.rows)} rows, ${formatBytes(progress.bytes)}`,
          );
        }
      });
      if (
        status === 'FAILED' ||
        status === 'TERMINATED' ||
        status === 'CANCELLED' ||
        status === 'TIMED_OUT'
      ) {
        process.exitCode = 1;
      }
    } finally {
      await client.connection.close();
    }
  });

program
  .command('demo')
  .description('everything local: stack, sample table, worker, export to the local MinIO')
  .option('--rows <n>', 'rows in the sample table', '2000000')
  .option('--partitions <n>', 'partitions', '4')
  .action(async (opts: { rows: string; partitions: string }) => {
    await runDemo({ rows: Number(opts.rows), partitions: Number(opts.partitions) });
  });

function print(json: boolean | undefined, value: unknown, human: () => void): void {
  if (json) console.log(JSON.stringify(value, null, 2));
  else human();
}

/** Exit code 0 only on success; on failure the error's type and message. */
function reportFailure(err: unknown): void {
  let type = 'Error';
  let message = err instanceof Error ? err.message : String(err);
  let cause: unknown = err;
  if (err instanceof WorkflowFailedError) cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    type = cause.type ?? 'ApplicationFailure';
    message = cause.message;
  } else if (cause instanceof PgParquetError) {
    type = cause.type;
    message = cause.message;
  } else if (cause instanceof Error) {
    type = cause.name;
    message = cause.message;
  }
  const json = process.argv.includes('--json');
  if (json) console.log(JSON.stringify({ status: 'failed', error: { type, message } }, null, 2));
  else console.error(`${type}: ${message}`);
  process.exitCode = cause instanceof PgParquetError ? 2 : 1;
}

program.parseAsync(process.argv).catch(reportFailure);
