/** Pure helpers that name a run. Used by the workflow, the client and the CLI. */
import { RUN_KEY_PATTERN } from '../src/contract/export-input.js';
import { keyName, type QualifiedName } from '../src/contract/table-name.js';

/** Prefix of every workflow id this package assigns. */
export const WORKFLOW_ID_PREFIX = 'pg-parquet';

/**
 * `pg-parquet/<connection>/<schema>.<table>/<runKey>`. Given the parsed table, its parts are
 * escaped as in object keys ({@link keyName}: `public.events` as it reads, `"a.b".c` as
 * `a%2Eb.c`), so two tables never share an id. A string is taken as already in that form.
 */
export function exportWorkflowId(connection: string, table: QualifiedName | string, runKey: string): string {
  return `${exportScheduleWorkflowId(connection, table)}/${runKey}`;
}

/**
 * `pg-parquet/<connection>/<schema>.<table>`: the workflow id a schedule's action carries. The
 * server starts each scheduled run as `<this>-<scheduled time, RFC 3339>`, e.g.
 * `pg-parquet/default/public.events-2026-11-22T10:15:00Z`, and {@link runKeyFromWorkflowId}
 * reads the runKey back from that suffix.
 */
export function exportScheduleWorkflowId(connection: string, table: QualifiedName | string): string {
  const name = typeof table === 'string' ? table : keyName(table);
  return `${WORKFLOW_ID_PREFIX}/${connection}/${name}`;
}

/**
 * `pg-parquet/<connection>/<label>/<runKey>` for `exportTables`; the label is `<schema>.*` for a
 * whole schema, `tables` for a list (or what the caller chooses).
 */
export function exportTablesWorkflowId(connection: string, label: string, runKey: string): string {
  return `${WORKFLOW_ID_PREFIX}/${connection}/${label}/${runKey}`;
}

/**
 * The suffix a Temporal Schedule appends to its action's workflow id: `-` and the scheduled
 * (nominal) time in RFC 3339, to the second (Go's `time.RFC3339`; fractions and offsets accepted).
 */
const SCHEDULED_SUFFIX = /-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))$/;

/**
 * The runKey a workflow id names, if it names one:
 * - a scheduled run, `<anything>-<RFC 3339 time>` (what a Schedule starts): the scheduled time as a
 *   runKey (`…-2026-11-22T10:15:00Z` → `20261122T101500Z`, the same as the
 *   `TemporalScheduledStartTime` rule), so a run started again under the same id resumes;
 * - our own form `pg-parquet/<connection>/<schema>.<table>/<runKey>`: its last part.
 */
export function runKeyFromWorkflowId(workflowId: string): string | undefined {
  const scheduled = SCHEDULED_SUFFIX.exec(workflowId);
  if (scheduled) {
    const ms = Date.parse(scheduled[1]!);
    if (Number.isFinite(ms)) return runKeyFromTime(new Date(ms));
  }
  if (!workflowId.startsWith(`${WORKFLOW_ID_PREFIX}/`)) return undefined;
  // prefix / connection / table (which may itself hold a "/") / runKey
  if (workflowId.split('/').length < 4) return undefined;
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
