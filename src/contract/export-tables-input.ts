/**
 * The input of `exportTables` (several tables, one child `exportTable` each): exportTable's JSON
 * with `source.tables` (a list) or `source.schema` plus `include`/`exclude` glob patterns instead
 * of `source.table`, and `tables.maxConcurrent`. Pure and deterministic, like export-input.ts:
 * every field is checked here, before any work, and each child's input is checked by
 * `resolveExportInput` itself.
 */
import { z } from 'zod';
import { InputError } from './errors.js';
import { resolveExportInput, type ExportTableInput } from './export-input.js';
import { quoteQualified } from './identifiers.js';
import type { RunSnapshot } from './snapshot.js';
import { parseQualifiedName, parseSchemaName, type QualifiedName } from './table-name.js';

/** Children that run at once, by default. */
export const DEFAULT_TABLES_CONCURRENT = 2;
/** Most tables one `exportTables` run exports (its history stays bounded). */
export const MAX_TABLES = 1000;

const pattern = z.string().min(1).max(200);

const sourceSchema = z.strictObject({
  connection: z.string().optional(),
  tables: z.array(z.string().min(1)).min(1).max(MAX_TABLES).nullable().default(null),
  schema: z.string().min(1).nullable().default(null),
  include: z.array(pattern).min(1).nullable().default(null),
  exclude: z.array(pattern).default([]),
  /** Cursor column per table (`schema.table` → column); other tables use their primary key. */
  cursors: z.record(z.string().min(1), z.string().min(1)).default({}),
});

const tablesSchema = z
  .strictObject({
    maxConcurrent: z.number().int().min(1).max(100).default(DEFAULT_TABLES_CONCURRENT),
    sharedSnapshot: z.boolean().default(false),
  })
  .prefault({});

/** What a user writes for `exportTables`. */
export type ExportTablesInput = Omit<ExportTableInput, 'source'> & {
  readonly source: z.input<typeof sourceSchema>;
  readonly tables?: z.input<typeof tablesSchema>;
};

/** `exportTables` input, checked, with defaults filled in. */
export interface ResolvedExportTablesInput {
  readonly connection: string;
  /** The listed tables, or null when they come from `schema`. */
  readonly tables: readonly QualifiedName[] | null;
  readonly schema: string | null;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly maxConcurrent: number;
  /** Every table reads one snapshot, taken by the parent (`tables.sharedSnapshot`). */
  readonly sharedSnapshot: boolean;
  readonly runKey: string | null;
  /** The fields every child shares (exportTable's input without `source` and `runKey`). */
  readonly common: Omit<ExportTableInput, 'source' | 'runKey'>;
  /** Cursor per `schema.table` (parsed names), from `source.cursors`. */
  readonly cursors: ReadonlyMap<string, string>;
}

const ACCEPTED: Record<string, string> = {
  'source.tables': 'null or a list of 1 to 1000 table names (schema.table)',
  'source.schema': 'null or a schema name',
  'source.include': 'null (every table) or a non-empty list of glob patterns (* and ?)',
  'source.exclude': 'a list of glob patterns (* and ?)',
  'source.cursors': 'an object: table name → cursor column',
  'tables.maxConcurrent': 'an integer from 1 to 100',
  'tables.sharedSnapshot':
    'false (each table reads a snapshot of its own, the default) or true (every table reads one snapshot, taken by the parent)',
};

function zodError(raw: unknown, prefix: string, error: z.ZodError): InputError {
  const issue = error.issues[0]!;
  const path = [prefix, ...issue.path.map(String)];
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0] ?? '');
  const field = path.join('.');
  const top = [prefix, String(issue.path[0] ?? '')].filter(Boolean).join('.');
  const accepted =
    issue.code === 'unrecognized_keys'
      ? 'no such field'
      : (ACCEPTED[field] ?? ACCEPTED[top] ?? issue.message);
  return new InputError(field, valueAt(raw, path), accepted);
}

/**
 * Validates `exportTables` input.
 * @throws InputError naming the first bad field, its value and what would be accepted.
 */
export function resolveExportTablesInput(raw: unknown): ResolvedExportTablesInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InputError('input', raw, 'an object with source.tables or source.schema, and destination');
  }
  const { source, tables, ...rest } = raw as Record<string, unknown>;
  const s = sourceSchema.safeParse(source ?? {});
  if (!s.success) throw zodError(raw, 'source', s.error);
  const t = tablesSchema.safeParse(tables);
  if (!t.success) throw zodError(raw, 'tables', t.error);
  const src = s.data;
  if ((src.tables === null) === (src.schema === null)) {
    throw new InputError('source.tables', src.tables, 'either source.tables or source.schema (not both)');
  }
  if (src.tables !== null && (src.include !== null || src.exclude.length > 0)) {
    throw new InputError(
      src.include !== null ? 'source.include' : 'source.exclude',
      src.include ?? src.exclude,
      'include/exclude only with source.schema',
    );
  }
  const listed = src.tables?.map((n, i) => parseQualifiedName(n, `source.tables[${i}]`)) ?? null;
  if (listed && new Set(listed.map(key)).size !== listed.length) {
    throw new InputError('source.tables', src.tables, 'distinct table names');
  }
  const schema = src.schema === null ? null : parseSchemaName(src.schema, 'source.schema');
  const cursors = new Map<string, string>();
  for (const [name, column] of Object.entries(src.cursors)) {
    cursors.set(key(parseQualifiedName(name, `source.cursors.${name}`)), column);
  }
  // Every shared field, checked by exportTable's own validation (a placeholder table).
  const connection = src.connection;
  const placeholder = listed?.[0] ?? { schema: schema ?? 'public', name: 'pg_parquet_check' };
  const check = resolveExportInput({
    ...rest,
    source: { ...(connection === undefined ? {} : { connection }), table: tableText(placeholder) },
  });
  if (t.data.sharedSnapshot && check.consistency === 'partition') {
    throw new InputError(
      'tables.sharedSnapshot',
      true,
      'false with consistency "partition" (a shared snapshot needs consistency null or "snapshot")',
    );
  }
  const { runKey: _runKey, ...common } = rest as Omit<ExportTableInput, 'source'>;
  return {
    connection: check.source.connection,
    tables: listed,
    schema,
    include: src.include ?? ['*'],
    exclude: src.exclude,
    maxConcurrent: t.data.maxConcurrent,
    sharedSnapshot: t.data.sharedSnapshot,
    runKey: check.runKey,
    common,
    cursors,
  };
}

/** The input of the child `exportTable` of one table. */
export function childExportInput(
  input: ResolvedExportTablesInput,
  table: QualifiedName,
  runKey: string,
  sharedSnapshot: RunSnapshot | null = null,
): ExportTableInput {
  return {
    ...input.common,
    ...(sharedSnapshot ? { sharedSnapshot } : {}),
    source: {
      connection: input.connection,
      table: tableText(table),
      cursor: input.cursors.get(key(table)) ?? null,
    },
    runKey,
  };
}

/** `"schema"."table"`: parses back to exactly this name. */
function tableText(q: QualifiedName): string {
  return quoteQualified(q.schema, q.name);
}

function key(q: QualifiedName): string {
  return `${q.schema}\0${q.name}`;
}

/**
 * Whether a table name matches a glob pattern: `*` any run of characters, `?` one character,
 * everything else literally (case-sensitive, as PostgreSQL names are once parsed).
 */
export function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(name);
}

/** The names that match one of `include` and none of `exclude`, in order. */
export function selectTables(
  names: readonly string[],
  include: readonly string[],
  exclude: readonly string[],
): string[] {
  return names.filter(
    (n) => include.some((p) => globMatches(p, n)) && !exclude.some((p) => globMatches(p, n)),
  );
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}
