/**
 * `pg-parquet demo`: the local stack, a sample table of mixed types, a worker in this process,
 * one export to the local MinIO with live progress, and a summary.
 */
import pg from 'pg';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startExport } from '../client.js';
import { connectClient } from '../temporal-connection.js';
import { createWorker } from '../worker.js';
import { runKeyFromTime } from '../../workflows/run-key.js';
import { ensureLocalStack } from './local-stack.js';
import { formatBytes, formatCount, ProgressView, progressModeFor } from './progress-view.js';
import { followExport } from './run-info.js';

/** The sample table. */
const DEMO_TABLE = 'public.pg_parquet_demo';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly rows: number;
  readonly partitions: number;
}

const CREATE_DEMO_TABLE = `
DROP TABLE IF EXISTS public.pg_parquet_demo;
CREATE TABLE public.pg_parquet_demo (
  id         bigint PRIMARY KEY,
  created_at timestamptz NOT NULL,
  user_id    integer,
  amount     numeric(12,2),
  status     text,
  ratio      double precision,
  is_test    boolean,
  day        date,
  session    uuid,
  payload    jsonb
);
INSERT INTO public.pg_parquet_demo
SELECT g,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '37 seconds' + (g % 1000) * interval '1 microsecond',
       CASE WHEN g % 17 = 0 THEN NULL ELSE ((g * 7919) % 100000)::int END,
       CASE WHEN g % 23 = 0 THEN NULL ELSE round(((g * 104729) % 10000000) / 100.0, 2) END,
       (ARRAY['new', 'paid', 'shipped', 'refunded', 'cancelled'])[1 + g % 5],
       CASE WHEN g % 29 = 0 THEN NULL ELSE ((g * 31) % 1000) / 7.0 END,
       g % 50 = 0,
       date '2026-01-01' + (g % 365)::int,
       md5(g::text)::uuid,
       CASE WHEN g % 11 = 0 THEN NULL ELSE jsonb_build_object('n', g, 'tag', 't' || (g % 97)) END
FROM generate_series(1::bigint, $ROWS) AS g;
ANALYZE public.pg_parquet_demo;`;

/** Creates the sample table unless it already holds exactly `rows` rows. */
async function ensureDemoTable(rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const have = await client
      .query<{ n: string }>('SELECT count(*)::text AS n FROM public.pg_parquet_demo')
      .then((r) => Number(r.rows[0]?.n ?? -1))
      .catch(() => -1);
    if (have === rows) return;
    console.error(`creating ${DEMO_TABLE} with ${formatCount(rows)} rows…`);
    await client.query(CREATE_DEMO_TABLE.replace('$ROWS', String(Math.trunc(rows))));
  } finally {
    await client.end();
  }
}

/** Runs the demo end to end and prints the summary. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const settings = ensureLocalStack();
  await ensureDemoTable(options.rows);
  const bucket = process.env.PG_PARQUET_DEMO_BUCKET ?? settings.PG_PARQUET_DEMO_BUCKET ?? 'pg-parquet-demo';
  // The demo prints its own progress: keep the worker's lifecycle lines out of it.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const worker = await createWorker();
  const running = worker.run();
  const client = await connectClient();
  const t0 = Date.now();
  try {
    const { handle, workflowId } = await startExport(client, {
      source: { table: DEMO_TABLE, cursor: 'id' },
      destination: `s3://${bucket}/demo`,
      runKey: runKeyFromTime(new Date()),
      partitions: { count: options.partitions },
    });
    console.error(`started ${workflowId}`);
    const view = new ProgressView(progressModeFor(false));
    const result = await followExport(handle, (p) => view.update(p)).finally(() => view.stop());
    const seconds = (Date.now() - t0) / 1000;
    const ui = process.env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
    const ns = process.env.TEMPORAL_NAMESPACE ?? 'default';
    console.log(
      [
        '',
        `Exported ${result.table} (run ${result.runKey})`,
        `  rows        ${formatCount(result.rows)}`,
        `  partitions  ${result.partitions}`,
        `  files       ${result.files} Parquet files, ${formatBytes(result.bytes)}`,
        `  time        ${seconds.toFixed(1)} s (${formatCount(result.rows / seconds)} rows/s)`,
        `  manifest    ${result.manifestUrl}`,
        `  files at    s3://${bucket}/demo/${result.table}/run=${result.runKey}/ (MinIO ${process.env.AWS_ENDPOINT_URL_S3 ?? ''})`,
        `  Temporal UI ${ui}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}`,
      ].join('\n'),
    );
  } finally {
    await client.connection.close();
    worker.shutdown();
    await running;
  }
}
