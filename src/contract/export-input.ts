/**
 * The workflow input (`ExportTableInput`), its defaults and its validation. Pure and
 * deterministic: the workflow, the client and the CLI all validate with this module, so bad input
 * is refused before any work starts, with the field, the value and what would be accepted.
 */
import { z } from 'zod';
import {
  DEFAULT_TYPE_OPTIONS,
  INFINITY_MODES,
  MAX_DECIMAL_PRECISION,
  JSON_MODES,
  TIME_MODES,
  UUID_MODES,
  type InfinityMode,
  type JsonMode,
  type TimeMode,
  type TypeOptions,
  type UuidMode,
} from './type-options.js';
import { COMPRESSIONS } from './compression.js';
import { parseDestination } from './destination-url.js';
import { ErrorType, InputError } from './errors.js';
import { LAG_ACCEPTED, RUN_MODES, resolveWatermarkSpec, type WatermarkSpec } from './incremental.js';
import { parseColumnName, parseQualifiedName, type QualifiedName } from './table-name.js';
import { isSnapshotId } from './snapshot.js';

export const DEFAULT_CONNECTION = 'default';
export const DEFAULT_TASK_QUEUE = 'pg-parquet';
export const DEFAULT_TARGET_PARTITION_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MAX_CONCURRENT = 4;
export const DEFAULT_BATCH_ROWS = 250_000;
/**
 * Field bytes (as sent by COPY) per batch. A batch costs ~6× this in memory while it is decoded,
 * serialized and encoded, twice per partition in flight. 16 MiB cuts a wide table's batches
 * below `DEFAULT_BATCH_ROWS`: on the bench table (~130 bytes a row) 126k rows, which measured
 * 588 MiB peak RSS at 10M rows instead of 869 MiB with 64 MiB, for 8% less throughput.
 */
export const DEFAULT_BATCH_BYTES = 16 * 1024 * 1024;
export const DEFAULT_ROW_GROUP_ROWS = 1_000_000;
export const DEFAULT_TARGET_FILE_BYTES = 256 * 1024 * 1024;
export const MAX_PARTITIONS = 100_000;
/** Largest `retention.keepRuns`. */
const MAX_KEEP_RUNS = 100_000;

/**
 * How compaction builds data files: `concat` copies the raw files' row groups byte for byte under
 * one new footer (row groups are the extraction batches); `rewrite` decodes them and encodes again
 * into row groups of `parquet.rowGroupRows` (a second encode: about as costly as extraction).
 */
export const COMPACTION_MODES = ['concat', 'rewrite'] as const;
/** One of {@link COMPACTION_MODES}. */
export type CompactionMode = (typeof COMPACTION_MODES)[number];
export const PARTITION_STRATEGIES = ['auto', 'minmax'] as const;
export type PartitionStrategy = (typeof PARTITION_STRATEGIES)[number];
export type TimestampUnit = 'us' | 'ms';

/** A runKey goes into object keys and the workflow id: keep it to safe characters. */
export const RUN_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CONNECTION_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const OUTPUT_COLUMN_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const positiveInt = (max: number) => z.number().int().min(1).max(max);

const sourceSchema = z.strictObject({
  connection: z.string().regex(CONNECTION_PATTERN).default(DEFAULT_CONNECTION),
  table: z.string().min(1),
  cursor: z.string().min(1).nullable().default(null),
  columns: z.array(z.string().min(1)).min(1).nullable().default(null),
  where: z.string().min(1).max(10_000).nullable().default(null),
});

const schema = z.strictObject({
  source: sourceSchema,
  destination: z.string().min(1),
  runKey: z.string().regex(RUN_KEY_PATTERN).nullable().default(null),
  mode: z.enum(RUN_MODES).default('full'),
  incremental: z
    .strictObject({
      column: z.string().min(1).nullable().default(null),
      lag: z
        .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(100)])
        .nullable()
        .default(null),
    })
    .prefault({}),
  partitions: z
    .strictObject({
      count: positiveInt(MAX_PARTITIONS).nullable().default(null),
      targetBytes: positiveInt(Number.MAX_SAFE_INTEGER).default(DEFAULT_TARGET_PARTITION_BYTES),
      maxConcurrent: positiveInt(2000).default(DEFAULT_MAX_CONCURRENT),
      strategy: z.enum(PARTITION_STRATEGIES).default('auto'),
    })
    .prefault({}),
  batch: z
    .strictObject({
      rows: positiveInt(10_000_000).default(DEFAULT_BATCH_ROWS),
      bytes: positiveInt(2 ** 31 - 1).default(DEFAULT_BATCH_BYTES),
    })
    .prefault({}),
  transform: z
    .strictObject({
      extractedAtColumn: z.string().regex(OUTPUT_COLUMN_PATTERN).nullable().default('_extracted_at'),
      extractionIdColumn: z.string().regex(OUTPUT_COLUMN_PATTERN).nullable().default('_extraction_id'),
      timestampUnit: z.enum(['us', 'ms']).default('us'),
      infinity: z.enum(INFINITY_MODES as [InfinityMode, ...InfinityMode[]]).default('error'),
      numericAsString: z.boolean().default(false),
      unconstrainedNumeric: z
        .string()
        .refine((v) => v === 'string' || parseDecimalType(v) !== undefined)
        .default('string'),
      arraysAsText: z.boolean().default(false),
      timeAs: z.enum(TIME_MODES as [TimeMode, ...TimeMode[]]).default(DEFAULT_TYPE_OPTIONS.timeAs),
      uuidAs: z.enum(UUID_MODES as [UuidMode, ...UuidMode[]]).default(DEFAULT_TYPE_OPTIONS.uuidAs),
      jsonAs: z.enum(JSON_MODES as [JsonMode, ...JsonMode[]]).default(DEFAULT_TYPE_OPTIONS.jsonAs),
    })
    .prefault({}),
  parquet: z
    .strictObject({
      compression: z.enum(COMPRESSIONS).default('zstd'),
      rowGroupRows: positiveInt(100_000_000).default(DEFAULT_ROW_GROUP_ROWS),
    })
    .prefault({}),
  verify: z.enum(['rows', 'source']).default('rows'),
  consistency: z.enum(['snapshot', 'partition']).nullable().default(null),
  /** Set by `exportTables` with `tables.sharedSnapshot`: the parent's snapshot, read in instead of one of the run's own. */
  sharedSnapshot: z
    .strictObject({
      id: z.string().refine(isSnapshotId),
      point: z.strictObject({
        snapshot: z.string().min(1),
        lsn: z.string().nullable(),
        takenAt: z.string(),
        standby: z.boolean(),
      }),
    })
    .nullable()
    .default(null),
  compaction: z
    .strictObject({
      enabled: z.boolean().default(true),
      targetFileBytes: positiveInt(Number.MAX_SAFE_INTEGER).default(DEFAULT_TARGET_FILE_BYTES),
      keepRaw: z.boolean().default(false),
      mode: z.enum(COMPACTION_MODES).default('concat'),
    })
    .prefault({}),
  retention: z
    .strictObject({
      keepRuns: positiveInt(MAX_KEEP_RUNS).nullable().default(null),
    })
    .prefault({}),
});

/**
 * `"decimal(P,S)"` → precision and scale (1 ≤ P ≤ 38, 0 ≤ S ≤ P), else undefined. Spaces are
 * allowed after the comma, as PostgreSQL prints types.
 */
function parseDecimalType(text: string): { precision: number; scale: number } | undefined {
  const m = /^decimal\((\d{1,2}),\s*(\d{1,2})\)$/.exec(text);
  if (!m) return undefined;
  const precision = Number(m[1]);
  const scale = Number(m[2]);
  if (precision < 1 || precision > MAX_DECIMAL_PRECISION || scale > precision) return undefined;
  return { precision, scale };
}

/** The names of the metadata columns the exporter adds (`null`: left out). */
export interface MetadataColumnNames {
  readonly extractedAtColumn: string | null;
  readonly extractionIdColumn: string | null;
}

/**
 * What planning needs of `transform`, from resolved input: the type options, and the metadata
 * column names (which planning checks against the source's columns).
 */
export function typeOptionsOf(
  transform: ResolvedExportInput['transform'],
): TypeOptions & MetadataColumnNames {
  return {
    extractedAtColumn: transform.extractedAtColumn,
    extractionIdColumn: transform.extractionIdColumn,
    timestampUnit: transform.timestampUnit,
    infinity: transform.infinity,
    numericAsString: transform.numericAsString,
    unconstrainedNumeric:
      transform.unconstrainedNumeric === 'string'
        ? null
        : (parseDecimalType(transform.unconstrainedNumeric) ?? null),
    arraysAsText: transform.arraysAsText,
    timeAs: transform.timeAs,
    uuidAs: transform.uuidAs,
    jsonAs: transform.jsonAs,
  };
}

/** What a user writes (every field but `source.table` and `destination` is optional). */
export type ExportTableInput = z.input<typeof schema>;

/** The input with every default filled in and names parsed. */
export type ResolvedExportInput = z.output<typeof schema> & {
  readonly table: QualifiedName;
  /** Parsed cursor column, or null to let the worker pick the primary key. */
  readonly cursorColumn: string | null;
  readonly columnNames: readonly string[] | null;
  /** The watermark of an incremental run (`mode: "incremental"`), or null for a full run. */
  readonly watermark: WatermarkSpec | null;
};

/** What would be accepted, per field, for error messages. */
const ACCEPTED: Record<string, string> = {
  'source.connection': 'a connection name: a letter then letters, digits or _ (resolved by the worker)',
  'source.cursor': 'a column name or null (the primary key)',
  'source.columns': 'null (all columns) or a non-empty list of column names',
  'source.where': 'null or one boolean SQL expression (at most 10,000 characters)',
  mode: '"full" (every row, the default) | "incremental" (the rows whose incremental.column passed since the last successful run)',
  'incremental.column':
    'null, or for mode "incremental" the watermark column: an increasing integer id or a timestamp/timestamptz column such as updated_at',
  'incremental.lag': LAG_ACCEPTED,
  runKey: 'null or 1-64 characters of letters, digits, ".", "_", "-", starting with a letter or digit',
  'partitions.count': `null or an integer from 1 to ${MAX_PARTITIONS}`,
  'partitions.maxConcurrent': 'an integer from 1 to 2000',
  'partitions.strategy': PARTITION_STRATEGIES.join(' | '),
  'transform.timestampUnit': '"us" | "ms"',
  'transform.infinity': '"error" | "null" | "clamp" (to 0001-01-01 / 9999-12-31 23:59:59.999999)',
  'transform.numericAsString': 'true (numeric(p,s) as exact strings) or false (Decimal128, the default)',
  'transform.unconstrainedNumeric': `"string" (exact text, the default) or "decimal(P,S)" with 1 ≤ P ≤ ${MAX_DECIMAL_PRECISION} and 0 ≤ S ≤ P`,
  'transform.arraysAsText': 'true (arrays as their text form) or false (List, the default)',
  'transform.timeAs':
    '"time" (Parquet TIME(MICROS), the default; Spark 3.5 and 4.0 cannot read such a file) | "string" (time as its text HH:MM:SS[.ffffff]: every engine reads it) | "micros" (int64 µs since midnight)',
  'transform.uuidAs':
    '"string" (uuid as its canonical text, the default: every engine reads it) | "uuid" (Parquet UUID, FIXED_LEN_BYTE_ARRAY(16): DuckDB and pyarrow read a uuid, Polars 16 bytes; Spark 3.5 cannot read such a file)',
  'transform.jsonAs':
    '"string" (json/jsonb as text, the default) | "json" (the same text with Parquet\'s JSON logical type: DuckDB reads JSON, pyarrow and Polars arrow.json over a string, Spark a string)',
  'transform.extractedAtColumn': 'null or a plain column name (letters, digits, _)',
  'transform.extractionIdColumn': 'null or a plain column name (letters, digits, _)',
  'parquet.compression': COMPRESSIONS.join(' | '),
  'retention.keepRuns':
    'null (keep every run, the default) or an integer from 1: after a successful run, delete the successful runs of the table beyond the newest N (by runKey)',
  sharedSnapshot:
    'null (the default; exportTables sets it with tables.sharedSnapshot) or a snapshot {id, point} the parent holds',
  consistency:
    'null (the default: "snapshot" where the server can export snapshots, else "partition" with a warning) | "snapshot" (every partition reads one snapshot of the run) | "partition" (each partition reads its own)',
  verify: '"rows" (stored rows = rows PostgreSQL sent) | "source" (also count(*) per range at the source)',
};

/**
 * Validates raw input (JSON from the UI, the CLI or code) and fills in defaults.
 * @throws InputError naming the first bad field, its value and what would be accepted.
 */
export function resolveExportInput(raw: unknown): ResolvedExportInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InputError('input', raw, 'an object with at least source.table and destination');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const base = issue.path.map(String).join('.');
      const field = [base, issue.keys[0]].filter(Boolean).join('.');
      throw new InputError(
        field,
        valueAt(raw, [...issue.path.map(String), issue.keys[0] ?? '']),
        'no such field',
      );
    }
    const field = issue.path.map(String).join('.');
    throw new InputError(field, valueAt(raw, issue.path.map(String)), ACCEPTED[field] ?? issue.message);
  }
  const input = parsed.data;
  const table = parseQualifiedName(input.source.table, 'source.table');
  const cursorColumn =
    input.source.cursor === null ? null : parseColumnName(input.source.cursor, 'source.cursor');
  const columnNames =
    input.source.columns === null
      ? null
      : input.source.columns.map((c, i) => parseColumnName(c, `source.columns[${i}]`));
  if (columnNames && new Set(columnNames).size !== columnNames.length) {
    throw new InputError('source.columns', input.source.columns, 'distinct column names');
  }
  parseDestination(input.destination);
  const t = input.transform;
  if (t.extractedAtColumn !== null && t.extractedAtColumn === t.extractionIdColumn) {
    throw new InputError(
      'transform.extractionIdColumn',
      t.extractionIdColumn,
      'a name different from extractedAtColumn',
    );
  }
  if (input.source.where !== null) checkWhereSyntax(input.source.where);
  if (input.sharedSnapshot !== null && input.consistency === 'partition') {
    throw new InputError('consistency', 'partition', 'null or "snapshot" with a sharedSnapshot');
  }
  const watermark = resolveWatermarkSpec(input.mode, input.incremental);
  return { ...input, table, cursorColumn, columnNames, watermark };
}

/**
 * A `where` filter must be a single boolean expression. This refuses, before any I/O, what
 * could end the expression or the statement: semicolons, comments, unbalanced parentheses
 * or quotes. The worker then checks at the source (READ ONLY) that it is a boolean expression.
 */
function checkWhereSyntax(where: string): void {
  const fail = (why: string): never => {
    throw new InputError(
      'source.where',
      where,
      `one boolean SQL expression (${why})`,
      ErrorType.InvalidWhere,
    );
  };
  let depth = 0;
  for (let i = 0; i < where.length; i++) {
    const c = where[i]!;
    if (c === "'" && /[eE]/.test(where[i - 1] ?? '') && !/[A-Za-z0-9_$]/.test(where[i - 2] ?? '')) {
      fail("escape strings E'...' are not accepted");
    } else if (c === "'" || c === '"') {
      const close = findClosingQuote(where, i, c);
      if (close < 0) fail('unterminated quote');
      i = close;
    } else if (c === '$' && /^\$[A-Za-z_0-9]*\$/.test(where.slice(i))) {
      fail('dollar-quoted strings are not accepted');
    } else if (c === ';') fail('no semicolons');
    else if (c === '-' && where[i + 1] === '-') fail('no comments');
    else if (c === '/' && where[i + 1] === '*') fail('no comments');
    else if (c === '(') depth++;
    else if (c === ')' && --depth < 0) fail('unbalanced parentheses');
  }
  if (depth !== 0) fail('unbalanced parentheses');
}

function findClosingQuote(text: string, start: number, quote: string): number {
  let i = start + 1;
  for (;;) {
    const k = text.indexOf(quote, i);
    if (k < 0) return -1;
    if (text[k + 1] === quote) {
      i = k + 2;
      continue;
    }
    return k;
  }
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/**
 * A JSON Schema (draft 2020-12) of the workflow input as a user writes it: only `source.table` and
 * `destination` required, every default stated, and each field described by what it accepts.
 * For people who fill in the Temporal UI's Start Workflow form or generate input in other tools.
 */
export function exportInputJsonSchema(): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const descriptions: Record<string, string> = {
    ...ACCEPTED,
    'source.table': 'schema.table, table (schema public) or "Quoted"."Names"',
    destination: 's3://bucket[/prefix] or file:///absolute/path',
  };
  const describe = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const obj = node as Record<string, unknown>;
    const text = descriptions[path];
    if (path && text && obj.description === undefined) obj.description = text;
    const props = obj.properties as Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(props ?? {})) describe(v, path ? `${path}.${k}` : k);
  };
  describe(json, '');
  const { $schema, ...rest } = json;
  return {
    $schema,
    title: 'ExportTableInput',
    description:
      'Input of the exportTable workflow (temporal-pg-parquet). Only source.table and destination are required.',
    ...rest,
  };
}
