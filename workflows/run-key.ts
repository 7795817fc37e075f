/** Pure helpers that name a run. Used by the workflow, the client and the CLI. */
import { RUN_KEY_PATTERN } from '../src/contract/export-input.js';

/** Prefix of every workflow id this package assigns. */
export const WORKFLOW_ID_PREFIX = 'pg-parquet';

/** `pg-parquet/<connection>/<schema>.<table>/<runKey>` */
export function exportWorkflowId(connection: string, table: string, runKey: string): string {
  return `${WORKFLOW_ID_PREFIX}/${connection}/${table}/${runKey}`;
}

/** The runKey at the end of a workflow id we assigned, if it is one. */
export function runKeyFromWorkflowId(workflowId: string): string | undefined {
  if (!workflowId.startsWith(`${WORKFLOW_ID_PREFIX}/`)) return undefined;
  const key = workflowId.slice(workflowId.lastIndexOf('/') + 1);
  return RUN_KEY_PATTERN.test(key) ? key : undefined;
}

/** A time as a runKey: `20261122T101500Z` (UTC, to the second; sorts by time). */
export function runKeyFromTime(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}
