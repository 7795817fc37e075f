/**
 * The benchmark tables of ../shared/bench/tables.sql: created through psql once per row count,
 * and the facts the report needs about them.
 */
import { execFileSync } from 'node:child_process';
import pg from 'pg';

/** Where a bench table lives. */
export interface BenchTable {
  /** Schema of the tables (`public` for the main run, `bench_rows_<N>` for other sizes). */
  readonly schema: string;
  readonly rows: number;
}

/** `schema.bench_events` of a bench table. */
export function eventsTable(t: BenchTable): string {
  return `${t.schema}.bench_events`;
}

/**
 * The bench table for `rows`: `public` when it is the main run's size, else a schema of its own
 * (`bench_rows_<rows>`, kept between runs) so that a scaling run does not re-create the main one.
 */
export function benchTableFor(rows: number, mainRows: number): BenchTable {
  return { schema: rows === mainRows ? 'public' : `bench_rows_${rows}`, rows };
}

/**
 * The connection as PG* variables: psql and limit_copy.sh then take an empty DSN, so the password
 * never appears in a command line (or in an error message that prints one).
 */
export function psqlEnv(databaseUrl: string, schema = 'public'): NodeJS.ProcessEnv {
  const u = new URL(databaseUrl);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    PGOPTIONS: `-c search_path=${schema}`,
  };
}

function countRows(env: NodeJS.ProcessEnv): number | undefined {
  try {
    const out = execFileSync('psql', ['', '-Atc', 'SELECT count(*) FROM bench_events'], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return Number(out.trim());
  } catch {
    return undefined; // no table yet
  }
}

/**
 * Creates the tables of `tablesSql` in `t.schema` with `t.rows` rows, unless `bench_events` is
 * already there with exactly that many rows.
 * @returns seconds spent creating them (0 when they were reused).
 */
export function ensureBenchTables(databaseUrl: string, t: BenchTable, tablesSql: string): number {
  const env = psqlEnv(databaseUrl, t.schema);
  if (countRows(env) === t.rows) return 0;
  console.error(`bench: creating ${t.schema}.bench_events with ${t.rows.toLocaleString('en-US')} rows…`);
  const t0 = performance.now();
  if (t.schema !== 'public') {
    execFileSync('psql', ['', '-qc', `CREATE SCHEMA IF NOT EXISTS ${t.schema}`], { env, stdio: 'inherit' });
  }
  execFileSync('psql', ['', '-q', '-v', `rows=${t.rows}`, '-f', tablesSql], { env, stdio: 'inherit' });
  return (performance.now() - t0) / 1000;
}

/** Facts about the server and one bench table. */
export interface TableFacts {
  /** `pg_total_relation_size` of bench_events (heap, TOAST and indexes). */
  readonly relationBytes: number;
  readonly serverVersion: string;
}

/** Reads {@link TableFacts} for `t`. */
export async function tableFacts(databaseUrl: string, t: BenchTable): Promise<TableFacts> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ bytes: string; version: string }>(
      `SELECT pg_total_relation_size($1::regclass)::text AS bytes, current_setting('server_version') AS version`,
      [eventsTable(t)],
    );
    const row = r.rows[0];
    if (!row) throw new Error(`no facts for ${eventsTable(t)}`);
    return { relationBytes: Number(row.bytes), serverVersion: row.version };
  } finally {
    await client.end();
  }
}
