/** Builds workflow input from `pg-parquet export` flags and an optional `--input` JSON file. */
import { readFileSync } from 'node:fs';
import { InputError } from '../contract/errors.js';
import type { ExportTableInput } from '../contract/export-input.js';

/** The flags of `pg-parquet export`, as commander parses them. */
export interface ExportFlags {
  readonly to?: string;
  readonly cursor?: string;
  readonly runKey?: string;
  readonly connection?: string;
  readonly partitions?: number;
  readonly targetBytes?: number;
  readonly concurrency?: number;
  readonly batchRows?: number;
  readonly where?: string;
  readonly columns?: string;
  readonly input?: string;
  /** `--incremental COLUMN`: `mode: "incremental"` by that watermark column. */
  readonly incremental?: string;
  /** `--lag X`: `incremental.lag`, an integer (id values) or a duration such as `5 minutes`. */
  readonly lag?: string;
}

/**
 * Numeric flags arrive parsed (see ./flags.ts); their upper bounds are the input schema's.
 * `--input` gives the full workflow input (what one pastes into the Temporal UI); the table
 * argument and flags override its fields.
 */
export function exportInputFromFlags(table: string | undefined, flags: ExportFlags): ExportTableInput {
  let base: Record<string, unknown> = {};
  if (flags.input) {
    try {
      base = JSON.parse(readFileSync(flags.input, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InputError('--input', flags.input, `a readable JSON file (${(err as Error).message})`);
    }
  }
  const source = { ...(base.source as Record<string, unknown> | undefined) };
  if (table) source.table = table;
  if (flags.cursor) source.cursor = flags.cursor;
  if (flags.connection) source.connection = flags.connection;
  if (flags.where) source.where = flags.where;
  if (flags.columns) source.columns = flags.columns.split(',').map((c) => c.trim());
  const partitions = { ...(base.partitions as Record<string, unknown> | undefined) };
  if (flags.partitions !== undefined) partitions.count = flags.partitions;
  if (flags.targetBytes !== undefined) partitions.targetBytes = flags.targetBytes;
  if (flags.concurrency !== undefined) partitions.maxConcurrent = flags.concurrency;
  const batch = { ...(base.batch as Record<string, unknown> | undefined) };
  if (flags.batchRows !== undefined) batch.rows = flags.batchRows;
  const input: Record<string, unknown> = { ...base, source };
  if (Object.keys(partitions).length > 0) input.partitions = partitions;
  if (Object.keys(batch).length > 0) input.batch = batch;
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
  return input as unknown as ExportTableInput;
}
