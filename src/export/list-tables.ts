/**
 * Activity bodies of `exportTables`: which tables of a schema to export (READ ONLY, the schema
 * name passed as a parameter, never spliced), and which of them a runKey already finished.
 */
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { MAX_TABLES, selectTables } from '../contract/export-tables-input.js';
import { displayName, type QualifiedName } from '../contract/table-name.js';
import { connect, resolveConnection } from '../postgres/connection.js';
import { RunStore } from '../run/run-store.js';
import type { ObjectStore } from '../storage/object-store.js';

/** Input of {@link listTables}. */
export interface ListTablesInput {
  readonly connection: string;
  readonly schema: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

/**
 * The ordinary and partitioned tables of `schema` (not the partitions of a partitioned table,
 * which its parent exports) whose names match `include` and not `exclude`, sorted by name.
 * @throws PgParquetError `PgParquetTableNotFound` when the schema does not exist (or is not visible),
 *   `PgParquetInvalidInput` when more than {@link MAX_TABLES} tables match.
 */
export async function listTables(
  input: ListTablesInput,
  deps: { readonly resolveConnection?: typeof resolveConnection } = {},
): Promise<{ tables: QualifiedName[] }> {
  const client = await connect((deps.resolveConnection ?? resolveConnection)(input.connection));
  try {
    await client.query('BEGIN READ ONLY');
    const ns = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [input.schema]);
    if (ns.rowCount === 0) {
      throw new PgParquetError(
        ErrorType.TableNotFound,
        `schema "${input.schema}" does not exist (or this role cannot see it)`,
        false,
        { field: 'source.schema', value: input.schema },
      );
    }
    const r = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND has_table_privilege(c.oid, 'SELECT')
        ORDER BY c.relname COLLATE "C"`,
      [input.schema],
    );
    await client.query('COMMIT');
    const names = selectTables(
      r.rows.map((x) => x.relname),
      input.include,
      input.exclude,
    );
    if (names.length > MAX_TABLES) {
      throw new PgParquetError(
        ErrorType.InvalidInput,
        `invalid source.include: ${names.length} tables of schema "${input.schema}" match; ` +
          `expected at most ${MAX_TABLES} per exportTables run (narrow include/exclude, or split the schema)`,
        false,
        { field: 'source.include', value: input.include, matched: names.length },
      );
    }
    return { tables: names.map((name) => ({ schema: input.schema, name })) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Input of {@link completedRuns}. */
export interface CompletedRunsInput {
  readonly destination: string;
  readonly runKey: string;
  readonly tables: readonly QualifiedName[];
}

/** A table whose run of this runKey is finished (`_SUCCESS` stored). */
export interface CompletedRun {
  readonly table: string;
  readonly rows: number;
  readonly bytes: number;
  readonly manifestUrl: string;
}

/** Which of `tables` this runKey already exported completely (their `_SUCCESS` is stored). */
export async function completedRuns(
  input: CompletedRunsInput,
  deps: { readonly openStore: (url: string) => ObjectStore },
): Promise<{ completed: CompletedRun[] }> {
  const store = deps.openStore(input.destination);
  const completed: CompletedRun[] = [];
  for (const table of input.tables) {
    const done = await RunStore.open(store, table, input.runKey).completed();
    if (done) {
      completed.push({
        table: displayName(table),
        rows: done.manifest.totals.rows,
        bytes: done.manifest.totals.bytes,
        manifestUrl: done.manifestUrl,
      });
    }
  }
  return { completed };
}
