/**
 * What every case of the fault catalogue checks once its run has ended, on S3 or in a folder,
 * through readers independent of the code under test (the AWS SDK or `fs`, then DuckDB): the
 * run's `_SUCCESS` and `_manifest.json`, the manifest's rows equal to the source's, every cursor
 * value once, the sums of numeric columns equal to the source's, and no data file a reader of the
 * run folder would see that the manifest does not list. It also reads which failure types the
 * run's activities met on the way, for the catalogue's "observed" column.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type pg from 'pg';
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';

/** What `client.workflow.start` returns: a handle that knows the chain's first run. */
type WorkflowStartHandle = WorkflowHandle & { readonly firstExecutionRunId: string };
import type { Manifest } from '../../src/run/manifest.js';
import { bucket, download, getObject } from './fixtures.js';
import { queryParquet } from './parquet-reader.js';
import { chainHistories, type HistoryEvent } from './run-chain.js';

/** Where the run was written: an S3 prefix (in the demo bucket) or a local folder. */
export type RunLocation = { readonly s3: S3Client; readonly prefix: string } | { readonly folder: string };

/** The run to check and its source table. */
export interface ExactRun {
  readonly db: pg.Client;
  readonly at: RunLocation;
  /** `schema.table`, plain names (as in keys). */
  readonly table: string;
  readonly runKey: string;
  /** The cursor column (integer): count(DISTINCT cursor) must equal the row count. */
  readonly cursor: string;
  /** Numeric columns whose sums must equal the source's. */
  readonly sums: readonly string[];
}

/** The figures a check measured, for the catalogue table. */
export interface RunFigures {
  readonly rows: number;
  readonly distinctCursors: number;
  readonly files: number;
  readonly sums: Readonly<Record<string, string>>;
  readonly manifest: Manifest;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Every key under the run folder, relative to the destination root. */
async function runKeys(at: RunLocation, runPrefix: string): Promise<string[]> {
  if ('folder' in at) {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else out.push(relative(at.folder, path).split('\\').join('/'));
      }
    };
    walk(join(at.folder, ...runPrefix.split('/')));
    return out;
  }
  const out: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: at.s3 },
    { Bucket: bucket(), Prefix: `${at.prefix}/${runPrefix}/` },
  )) {
    for (const o of page.Contents ?? []) out.push(o.Key!.slice(at.prefix.length + 1));
  }
  return out;
}

async function readKey(at: RunLocation, key: string): Promise<Uint8Array> {
  if ('folder' in at) return readFileSync(join(at.folder, ...key.split('/')));
  return getObject(at.s3, `${at.prefix}/${key}`);
}

/**
 * Asserts that the run ended exactly: `_SUCCESS`, the manifest's total equal to the source's row
 * count, DuckDB over the files it lists finding that many rows, as many distinct cursor values and
 * the source's sums; and that the data files a reader of the run folder sees (no `_` or `.`
 * segment) are exactly the manifest's. Returns the figures.
 */
export async function assertExactRun(run: ExactRun): Promise<RunFigures> {
  const runPrefix = `${run.table}/run=${run.runKey}`;
  await readKey(run.at, `${runPrefix}/_SUCCESS`);
  const manifest = JSON.parse(
    new TextDecoder().decode(await readKey(run.at, `${runPrefix}/_manifest.json`)),
  ) as Manifest;

  const visible = (await runKeys(run.at, runPrefix))
    .filter(
      (k) =>
        !k
          .slice(runPrefix.length + 1)
          .split('/')
          .some((s) => s.startsWith('_') || s.startsWith('.')),
    )
    .sort();
  assert.deepEqual(
    visible,
    manifest.files.map((f) => f.key).sort(),
    'a reader sees only the manifest’s files',
  );

  const at = run.at;
  const paths =
    'folder' in at
      ? manifest.files.map((f) => join(at.folder, ...f.key.split('/')))
      : await download(
          at.s3,
          manifest.files.map((f) => `${at.prefix}/${f.key}`),
        );
  const sumsSql = run.sums.map((c, i) => `, sum(${quote(c)})::VARCHAR AS s${i}`).join('');
  const [out] = await queryParquet(
    paths,
    `SELECT count(*)::VARCHAR AS n, count(DISTINCT ${quote(run.cursor)})::VARCHAR AS ids${sumsSql}
       FROM read_parquet($files)`,
  );
  const src = (
    await run.db.query<Record<string, string>>(
      `SELECT count(*)::text AS n${run.sums.map((c, i) => `, sum(${quote(c)})::text AS s${i}`).join('')}
         FROM ${run.table.split('.').map(quote).join('.')}`,
    )
  ).rows[0]!;
  assert.equal(manifest.totals.rows, Number(src.n), 'manifest rows = source rows');
  assert.equal(out!.n, src.n, 'rows read = source rows');
  assert.equal(out!.ids, src.n, 'every cursor value once');
  const sums: Record<string, string> = {};
  for (const [i, c] of run.sums.entries()) {
    assert.equal(out![`s${i}`], src[`s${i}`], `sum of ${c}`);
    sums[c] = String(out![`s${i}`]);
  }
  return {
    rows: Number(out!.n),
    distinctCursors: Number(out!.ids),
    files: manifest.files.length,
    sums,
    manifest,
  };
}

/** One failed activity attempt of a run, from its history. */
export interface AttemptFailure {
  readonly activity: string;
  /** The ApplicationFailure type (our error vocabulary), or the failure's kind when it has none. */
  readonly type: string;
  readonly nonRetryable: boolean;
  /** The failure's message, for the assertion that names an unexpected type. */
  readonly message: string;
}

/**
 * Every failed activity attempt the histories of the run's chain (its continuations included) record: ActivityTaskFailed and TimedOut events
 * (attempts that ended the activity), the `lastFailure` of each ActivityTaskStarted (the
 * attempt before a retry that went on) and ActivityTaskCanceled events (the workflow cancelled
 * the activity, e.g. to re-read a partition in a new snapshot). Timeouts appear as
 * `timeout:<kind>`, cancellations as `cancelled`.
 */
export async function attemptFailures(
  client: Client,
  handle: WorkflowStartHandle,
): Promise<AttemptFailure[]> {
  // Every run of the chain: a run that replaces a lost snapshot continues as new.
  const histories = await chainHistories(client, handle.workflowId, handle.firstExecutionRunId);
  return histories.flatMap((events) => failuresIn(events));
}

/** Temporal's TimeoutType enum values, by number (as history events carry them). */
const TIMEOUT_TYPES: Record<number, string> = {
  1: 'START_TO_CLOSE',
  2: 'SCHEDULE_TO_START',
  3: 'SCHEDULE_TO_CLOSE',
  4: 'HEARTBEAT',
};

type HistoryEvents = readonly HistoryEvent[];

function failuresIn(events: HistoryEvents): AttemptFailure[] {
  const activityOf = new Map<string, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) activityOf.set(String(e.eventId), name);
  }
  type Failure = NonNullable<
    NonNullable<(typeof events)[number]['activityTaskFailedEventAttributes']>['failure']
  >;
  const describe = (activity: string, f: Failure): AttemptFailure => {
    const app = f.applicationFailureInfo ?? f.cause?.applicationFailureInfo;
    const timeout = f.timeoutFailureInfo;
    return {
      activity,
      type:
        app?.type ??
        (timeout
          ? `timeout:${TIMEOUT_TYPES[Number(timeout.timeoutType)] ?? String(timeout.timeoutType)}`
          : (f.message ?? 'unknown')),
      nonRetryable: app?.nonRetryable === true,
      message: f.message ?? '',
    };
  };
  const out: AttemptFailure[] = [];
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (started?.lastFailure) {
      out.push(describe(activityOf.get(String(started.scheduledEventId)) ?? '?', started.lastFailure));
    }
    const failed = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (failed?.failure) {
      out.push(describe(activityOf.get(String(failed.scheduledEventId)) ?? '?', failed.failure));
    }
    const cancelled = e.activityTaskCanceledEventAttributes;
    if (cancelled) {
      out.push({
        activity: activityOf.get(String(cancelled.scheduledEventId)) ?? '?',
        type: 'cancelled',
        nonRetryable: false,
        message: '',
      });
    }
  }
  return out;
}
