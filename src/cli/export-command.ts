/**
 * `pg-parquet export`: starts one table's `exportTable` run, or with `--schema` an `exportTables`
 * run over the schema's tables, and with `--wait` follows it to the end (progress, then a summary:
 * per table for a schema).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startExport, startExportTables, tablesLabel } from '../client.js';
import { connectClient } from '../temporal-connection.js';
import type { ExportTablesResult } from '../../workflows/export-tables.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { exportTablesWorkflowId, exportWorkflowId } from '../../workflows/run-key.js';
import { exportRequestFromFlags, type ExportFlags, type ExportRequest } from './export-options.js';
import { ExitCode, RunFailure } from './failure.js';
import { followInForeground } from './foreground.js';
import { print } from './output.js';
import { formatBytes, formatCount, type LiveProgress, type ProgressUnit } from './progress-view.js';
import { followExport } from './run-info.js';
import { followExportTables, printTablesResult } from './tables-progress.js';

/** The flags of `pg-parquet export`, as commander parses them. */
export interface ExportCommandFlags extends ExportFlags {
  readonly wait?: boolean;
  readonly json?: boolean;
  readonly progressInterval: number;
}

/** A started run: its handle, id and runKey. */
interface Started {
  readonly handle: WorkflowHandle;
  readonly workflowId: string;
  readonly runKey: string;
}

/** How to start, follow and report one kind of run (`exportTable` or `exportTables`). */
interface Launch<R> {
  readonly unit: ProgressUnit;
  /** The run a retry would start, when the input fixes its runKey (named if starting fails). */
  readonly planned: { readonly workflowId: string; readonly runKey: string } | null;
  start(client: Client): Promise<Started>;
  follow(
    client: Client,
    handle: WorkflowHandle,
    onLook: ((live: LiveProgress) => void) | undefined,
  ): Promise<R>;
  /** Prints the result (`--json`: one document); returns the exit code. */
  report(result: R, workflowId: string, json: boolean): number;
}

/**
 * Runs `pg-parquet export`. The input is checked before anything is contacted (exit 2).
 * @throws InputError for bad flags or input; RunFailure when the run fails or cannot start.
 */
export async function runExportCommand(table: string | undefined, flags: ExportCommandFlags): Promise<void> {
  const request = exportRequestFromFlags(table, flags);
  if (request.kind === 'table') await launch(tableLaunch(request), flags);
  else await launch(tablesLaunch(request), flags);
}

async function launch<R>(l: Launch<R>, flags: ExportCommandFlags): Promise<void> {
  const client = await connectClient();
  try {
    let started: Started;
    try {
      started = await l.start(client);
    } catch (err) {
      // Failed to start (Temporal unreachable, …): still name the run a retry would create.
      throw l.planned ? new RunFailure(err, l.planned.workflowId, l.planned.runKey) : err;
    }
    const { handle, workflowId, runKey } = started;
    if (!flags.wait) {
      print(flags.json, { workflowId, runKey, status: 'started' }, () =>
        console.log(`started ${workflowId}`),
      );
      return;
    }
    if (!flags.json) console.error(`started ${workflowId}`);
    const result = await followInForeground({
      workflowId,
      runKey,
      json: flags.json === true,
      progressInterval: flags.progressInterval,
      unit: l.unit,
      follow: (onLook) => l.follow(client, handle, onLook),
    });
    process.exitCode = l.report(result, workflowId, flags.json === true);
  } finally {
    await client.connection.close();
  }
}

function tableLaunch(request: Extract<ExportRequest, { kind: 'table' }>): Launch<ExportTableResult> {
  const { resolved } = request;
  const runKey = resolved.runKey;
  return {
    unit: 'partitions',
    planned:
      runKey === null
        ? null
        : { workflowId: exportWorkflowId(resolved.source.connection, resolved.table, runKey), runKey },
    async start(client) {
      const s = await startExport(client, request.input);
      return { handle: s.handle, workflowId: s.workflowId, runKey: s.input.runKey };
    },
    follow: (_client, handle, onLook) => followExport(handle, onLook),
    report(result, workflowId, json) {
      print(json, { workflowId, status: 'completed', ...result }, () =>
        console.log(
          `exported ${formatCount(result.rows)} rows of ${result.table} in ${result.files} files ` +
            `(${formatBytes(result.bytes)}); manifest: ${result.manifestUrl}`,
        ),
      );
      return ExitCode.ok;
    },
  };
}

function tablesLaunch(request: Extract<ExportRequest, { kind: 'tables' }>): Launch<ExportTablesResult> {
  const { resolved } = request;
  const runKey = resolved.runKey;
  return {
    unit: 'tables',
    planned:
      runKey === null
        ? null
        : {
            workflowId: exportTablesWorkflowId(resolved.connection, tablesLabel(resolved.schema), runKey),
            runKey,
          },
    async start(client) {
      const s = await startExportTables(client, request.input);
      return { handle: s.handle, workflowId: s.workflowId, runKey: s.input.runKey };
    },
    follow: followExportTables,
    report(result, workflowId, json) {
      // The run completes even when tables fail; the command succeeds only if every table did.
      const status = result.failed > 0 ? 'failed' : 'completed';
      print(json, { workflowId, status, ...result }, () => printTablesResult(result));
      return result.failed > 0 ? ExitCode.failed : ExitCode.ok;
    },
  };
}
