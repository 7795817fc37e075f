/** Pure helpers that name a run. Used by the workflow, the client and the CLI. */
import { RUN_KEY_PATTERN } from '../src/contract/export-input.js';
import { keyName, type QualifiedName } from '../src/contract/table-name.js';

/** Prefix of every workflow id this package assigns. */
export const WORKFLOW_ID_PREFIX = 'pg-parquet';

/**
 * `pg-parquet/<connection>/<schema>.<table>/<runKey>`. Given the parsed table, its parts are
 * escaped as in object keys ({@link keyName}: `public.events` as it reads, `"a.b".c` as
 * `a%2Eb.c`), so two tables never share an id. A string is taken as already in that form
 * (callers that pass `displayName(table)` get today's ids, ambiguous for names with dots).
 */
export function exportWorkflowId(connection: string, table: QualifiedName | string, runKey: string): string {
  const name = typeof table === 'string' ? table : keyName(table);
  return `${WORKFLOW_ID_PREFIX}/${connection}/${name}/${runKey}`;
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
