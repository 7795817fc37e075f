/**
 * Builds the workflow input of `pg-parquet export` and `pg-parquet schedule create` from their
 * flags and an optional `--input` JSON file: one table (`exportTable`) or, with `--schema` (or an
 * `--input` whose source names `schema` or `tables`), several (`exportTables`). The input is
 * validated here, with the workflows' own code, before anything is contacted.
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { InputError } from '../contract/errors.js';
import {
  resolveExportInput,
  type ExportTableInput,
  type ResolvedExportInput,
} from '../contract/export-input.js';
import {
  resolveExportTablesInput,
  type ExportTablesInput,
  type ResolvedExportTablesInput,
} from '../contract/export-tables-input.js';
import { intFlag } from './flags.js';

/** The flags that shape the workflow input, as commander parses them. */
export interface InputFlags {
  readonly to?: string;
  readonly cursor?: string;
  readonly connection?: string;
  readonly partitions?: number;
  readonly targetBytes?: number;
  readonly concurrency?: number;
  readonly batchRows?: number;
  readonly where?: string;
  readonly columns?: string;
  readonly input?: string;
  readonly schema?: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly tablesConcurrency?: number;
  /** `--incremental COLUMN`: `mode: "incremental"` by that watermark column. */
  readonly incremental?: string;
  /** `--lag X`: `incremental.lag`, an integer (id values) or a duration such as `5 minutes`. */
  readonly lag?: string;
}

/** The flags of `pg-parquet export` that shape its input. */
export interface ExportFlags extends InputFlags {
  readonly runKey?: string;
}

/** What to start: one table, or several (a schema's tables, or a list from `--input`). */
export type ExportRequest =
  | { readonly kind: 'table'; readonly input: ExportTableInput; readonly resolved: ResolvedExportInput }
  | {
      readonly kind: 'tables';
      readonly input: ExportTablesInput;
      readonly resolved: ResolvedExportTablesInput;
    };

const collect = (value: string, previous: readonly string[]): string[] => [...previous, value];

/** Adds the input-shaping flags of {@link InputFlags} to a command (`export`, `schedule create`). */
export function addInputOptions(command: Command): Command {
  return command
    .option('--to <url>', 'destination: s3://bucket/prefix or file:///abs/path')
    .option('--schema <name>', 'export every table of this schema (the exportTables workflow)')
    .option('--include <glob>', 'with --schema: only tables matching (* and ?; repeatable)', collect, [])
    .option('--exclude <glob>', 'with --schema: leave out tables matching (repeatable)', collect, [])
    .addOption(
      new Option('--tables-concurrency <n>', 'with --schema: tables exported at once (default 2)').argParser(
        intFlag(1, 100),
      ),
    )
    .option('--cursor <column>', 'cursor column (default: the primary key)')
    .option('--connection <name>', 'connection name resolved by the worker (default: default)')
    .addOption(
      new Option('--partitions <n>', 'fixed partition count').argParser(intFlag()).conflicts('targetBytes'),
    )
    .addOption(new Option('--target-bytes <bytes>', 'bytes of source per partition').argParser(intFlag()))
    .addOption(new Option('--concurrency <n>', 'partitions extracted at once').argParser(intFlag()))
    .addOption(new Option('--batch-rows <n>', 'rows per batch file').argParser(intFlag()))
    .option('--where <expr>', 'one boolean SQL expression filtering rows')
    .option('--columns <list>', 'comma-separated columns to export')
    .option('--input <file>', 'workflow input JSON (as pasted in the Temporal UI); flags override it')
    .option(
      '--incremental <column>',
      'incremental run: only the rows whose watermark column (an increasing id or updated_at) passed since the last successful run',
    )
    .option(
      '--lag <lag>',
      'with --incremental: an id count or a duration such as "5 minutes" the high-water stays behind',
    );
}

function readInput(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError('--input', file, `a readable JSON file (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError('--input', file, 'a JSON object: the workflow input');
  }
  return value as Record<string, unknown>;
}

/** The first flag of `names` that is set, as [flag, value]. */
function firstSet(
  flags: Record<string, unknown>,
  names: readonly [string, string][],
): [string, unknown] | null {
  for (const [flag, key] of names) {
    const v = flags[key];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) return [flag, v];
  }
  return null;
}

/**
 * The workflow input from the table argument, the flags and `--input` (whose fields the flags
 * override). Numeric flags arrive parsed (see ./flags.ts); everything else is checked here by the
 * workflows' own validation.
 * @throws InputError naming the flag or field, the value and what is accepted.
 */
export function exportRequestFromFlags(table: string | undefined, flags: ExportFlags): ExportRequest {
  if (table !== undefined && flags.schema !== undefined) {
    throw new InputError('--schema', flags.schema, 'either a table argument or --schema, not both');
  }
  const base = readInput(flags.input);
  const source: Record<string, unknown> = { ...(base.source as Record<string, unknown> | undefined) };
  const several =
    flags.schema !== undefined || (table === undefined && ('schema' in source || 'tables' in source));
  const record = flags as unknown as Record<string, unknown>;
  if (several) {
    const wrong = firstSet(record, [
      ['--cursor', 'cursor'],
      ['--where', 'where'],
      ['--columns', 'columns'],
    ]);
    if (wrong) {
      throw new InputError(
        wrong[0],
        wrong[1],
        `a table argument: ${wrong[0]} applies to one table (for several, cursors go in source.cursors of --input)`,
      );
    }
  } else {
    const wrong = firstSet(record, [
      ['--include', 'include'],
      ['--exclude', 'exclude'],
      ['--tables-concurrency', 'tablesConcurrency'],
    ]);
    if (wrong) throw new InputError(wrong[0], wrong[1], '--schema (several tables)');
  }

  // The argument or --schema says which tables: it replaces --input's choice of them.
  if (table !== undefined) {
    for (const k of ['schema', 'tables', 'include', 'exclude']) delete source[k];
    source.table = table;
  }
  if (flags.schema !== undefined) {
    delete source.table;
    delete source.tables;
    source.schema = flags.schema;
  }
  if (flags.include.length > 0) source.include = [...flags.include];
  if (flags.exclude.length > 0) source.exclude = [...flags.exclude];
  if (flags.cursor) source.cursor = flags.cursor;
  if (flags.connection) source.connection = flags.connection;
  if (flags.where) source.where = flags.where;
  if (flags.columns) source.columns = flags.columns.split(',').map((c) => c.trim());

  const input: Record<string, unknown> = { ...base, source };
  const merge = (key: string, fields: Record<string, number | undefined>) => {
    const set = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (set.length > 0) input[key] = { ...(base[key] as object | undefined), ...Object.fromEntries(set) };
  };
  merge('partitions', {
    count: flags.partitions,
    targetBytes: flags.targetBytes,
    maxConcurrent: flags.concurrency,
  });
  merge('batch', { rows: flags.batchRows });
  if (several) merge('tables', { maxConcurrent: flags.tablesConcurrency });
  if (flags.to) input.destination = flags.to;
  if (flags.runKey) input.runKey = flags.runKey;
  const incremental = { ...(base.incremental as Record<string, unknown> | undefined) };
  if (flags.incremental) {
    input.mode = 'incremental';
    incremental.column = flags.incremental;
  }
  // Digits alone are id values; anything else goes to the input's duration check as it is.
  if (flags.lag !== undefined)
    incremental.lag = /^\d+$/.test(flags.lag.trim()) ? Number(flags.lag) : flags.lag;
  if (Object.keys(incremental).length > 0) input.incremental = incremental;

  if (several) {
    const tables = input as unknown as ExportTablesInput;
    return { kind: 'tables', input: tables, resolved: resolveExportTablesInput(tables) };
  }
  const one = input as unknown as ExportTableInput;
  return { kind: 'table', input: one, resolved: resolveExportInput(one) };
}
