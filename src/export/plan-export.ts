/**
 * Planning activity body: checks that the destination takes writes (a probe object, written and
 * deleted), then the source (table, cursor, columns, where) in a READ ONLY transaction, then splits the cursor range into partitions and stores the plan under the run,
 * or reuses the plan a previous attempt of the same runKey stored.
 */
import type pg from 'pg';
import { type ColumnSpec, type PgColumn } from '../arrow/column-spec.js';
import { DEFAULT_TYPE_OPTIONS, type TypeOptions } from '../contract/type-options.js';
import { planColumns } from '../arrow/type-map.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import type { MetadataColumnNames, PartitionStrategy, TimestampUnit } from '../contract/export-input.js';
import { MAX_PARTITIONS } from '../contract/export-input.js';
import { ITEMS_PER_FETCH } from '../contract/chunks.js';
import { planBalancedRanges } from '../plan/balanced.js';
import { cursorQuantiles, keysetSample } from '../plan/cursor-stats.js';
import { planKeysetRanges } from '../plan/keyset.js';
import { planUniformRanges, type PartitionRange } from '../plan/partitions.js';
import { connect, resolveConnection } from '../postgres/connection.js';
import { cursorValueSql, type CursorKind } from '../postgres/cursor-kind.js';
import type { PlanCursorKind } from '../postgres/copy-query.js';
import { resolveCursor } from './resolve-cursor.js';
import { describeTable } from '../postgres/introspect.js';
import { rowFilterSql } from '../postgres/copy-query.js';
import { whereDataError } from '../postgres/sqlstate.js';
import { beginRead } from '../postgres/snapshot.js';
import { checkWhere, filterSql, PLANNING_CLOCK_SQL, type PlanningClock } from '../postgres/where-filter.js';
import { quoteIdent, quoteQualified } from '../contract/identifiers.js';
import type { ObjectStore } from '../storage/object-store.js';
import { displayName, type QualifiedName } from '../contract/table-name.js';
import { INCREMENTAL_PLAN_VERSION, RUN_PLAN_VERSION, type RunPlan } from '../run/run-plan.js';
import { RunStore } from '../run/run-store.js';
import type { WatermarkSpec } from '../contract/incremental.js';
import type { PlannedWatermark } from '../plan/watermark.js';
import { checkStoredWatermark, planWatermark } from './incremental-range.js';

/** Input of the planning activity. */
export interface PlanExportInput {
  readonly connection: string;
  readonly table: QualifiedName;
  readonly cursor: string | null;
  readonly columns: readonly string[] | null;
  readonly where: string | null;
  readonly destination: string;
  readonly runKey: string;
  /** The run's start time (ISO): becomes `_extracted_at` unless a stored plan exists. */
  readonly startedAt: string;
  readonly partitions: {
    readonly count: number | null;
    readonly targetBytes: number;
    readonly strategy: PartitionStrategy;
  };
  readonly timestampUnit: TimestampUnit;
  /**
   * The other type options of `transform` and its metadata column names (see `typeOptionsOf`);
   * absent options mean the defaults, absent names are not checked against the source.
   */
  readonly types?: Omit<TypeOptions, 'timestampUnit'> & Partial<MetadataColumnNames>;
  /**
   * Whether the raw files are written in the intermediate format (only a rewriting compaction
   * reads them, see `intermediate` in extract-partition.ts); absent means false.
   */
  readonly intermediateRaw?: boolean;
  /** Whether the run compacts (`compaction.enabled`; decides where batches go); absent means true. */
  readonly compacted?: boolean;
  /** The watermark of an incremental run (`mode: "incremental"`); absent or null: a full run. */
  readonly incremental?: WatermarkSpec | null;
  /**
   * The run's exported snapshot id (`consistency: "snapshot"`): bounds, histogram and sample
   * are read in it, so the last range ends at what the run's snapshot sees. Null or absent: a
   * snapshot of planning's own.
   */
  readonly snapshotId?: string | null;
  /**
   * `consistency: "snapshot"` as asked for explicitly (every partition is read in `snapshotId`,
   * a lost one reads everything again): only then may a table without a key be read by ctid
   * page ranges. Absent means false.
   */
  readonly strictSnapshot?: boolean;
}

/** Result of planning: the stored plan and whether it was reused from an earlier attempt. */
export interface PlanExportResult {
  readonly plan: RunPlan;
  readonly reused: boolean;
  /**
   * The plan's first {@link ITEMS_PER_FETCH} partition ranges, so that the workflow starts them
   * without asking `pgParquetPlanRanges` first (one activity round trip less before any row is
   * read). Absent from the answer of a worker before this field: the workflow then asks.
   */
  readonly firstRanges?: readonly PartitionRange[];
}

/** Dependencies: how to reach the database and the object store. */
export interface PlanDeps {
  readonly resolveConnection?: typeof resolveConnection;
  readonly openStore: (url: string) => ObjectStore;
}

/** Plans a run, or returns the plan already stored for this runKey. */
export async function planExport(input: PlanExportInput, deps: PlanDeps): Promise<PlanExportResult> {
  // Before anything is read or written: what the filter can do is known from its text alone.
  if (input.where !== null) await checkWhere(input.where);
  const run = RunStore.open(deps.openStore(input.destination), input.table, input.runKey);
  const stored = await run.plan();
  if (stored) return adopt(run, stored, input);
  // The destination first: a store that refuses writes fails before the source is read.
  await run.probeWrites();
  const config = (deps.resolveConnection ?? resolveConnection)(input.connection);
  const client = await connect(config);
  let planned: { plan: RunPlan; ranges: PartitionRange[] };
  try {
    await beginRead(client, input.snapshotId ?? null);
    planned = await planFromSource(client, input, run);
    await client.query('COMMIT');
  } finally {
    await client.end().catch(() => undefined);
  }
  // `_plan.json` is create-only: of two runs of this runKey planning at once, one stores its
  // plan and the other adopts it, or refuses it when its settings disagree (PlanMismatch).
  const { plan, created } = await run.storePlan(planned.plan, planned.ranges);
  if (!created) return adopt(run, plan, input);
  return { plan, reused: false, firstRanges: planned.ranges.slice(0, ITEMS_PER_FETCH) };
}

/** Reuses the plan stored for this runKey, if this run's settings agree with it. */
async function adopt(run: RunStore, stored: RunPlan, input: PlanExportInput): Promise<PlanExportResult> {
  checkSamePlan(stored, input);
  checkCtidSnapshot(stored, input);
  checkMetadataNames(stored.columns, input);
  await checkStoredWatermark({ store: run.store, plan: stored, spec: input.incremental ?? null });
  const firstRanges = await run.ranges(0, Math.min(ITEMS_PER_FETCH, stored.partitionCount), stored);
  return { plan: stored, reused: true, firstRanges };
}

async function planFromSource(
  client: pg.Client,
  input: PlanExportInput,
  run: RunStore,
): Promise<{ plan: RunPlan; ranges: PartitionRange[] }> {
  const { schema, name } = input.table;
  const all = await describeTable(client, schema, name);
  const warnings: string[] = [];
  const resolved = await resolveCursor(
    client,
    input.table,
    input.cursor,
    all,
    (n) => columnNotFound('source.cursor', n, input.table, all),
    inOneSnapshot(input),
  );
  const cursorName = resolved.cursor;
  const cursorKind = resolved.cursorKind;
  const selected = selectColumns(all, input);
  checkMetadataNames(selected, input);
  const columns: ColumnSpec[] = planColumns(selected, planTypeOptions(input));
  const whereSql = input.where === null ? null : await planningFilter(client, input.where, all);
  if (whereSql !== null) await checkBooleanAtSource(client, input.table, whereSql, input.where!);
  if (!resolved.indexed) {
    warnings.push(
      `cursor "${cursorName}" is not the leading column of any index: every partition scans the table`,
    );
  }
  const watermark = await incrementalRange(client, input, run, all);
  // Partitions split the rows this run exports: the user's filter and the watermark range.
  const rowFilter = rowFilterSql({ where: whereSql, watermark });
  const filter = rowFilter === null ? '' : ` WHERE ${rowFilter}`;
  // A keyset cursor needs no min and max: its ranges are cut at sampled keys, open at both ends.
  const bounds =
    cursorKind === 'keyset'
      ? { min: null, max: null }
      : cursorKind === 'ctid'
        ? await heapPages(client, input.table, warnings)
        : await overRows(client, input, whereSql, () =>
            integerBounds(client, input.table, cursorName, integerKind(cursorKind), filter),
          );
  const size = await client.query<{ bytes: string; tuples: string }>(
    `SELECT pg_total_relation_size(c.oid)::text AS bytes, c.reltuples::bigint::text AS tuples
       FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [quoteQualified(schema, name)],
  );
  const sourceBytes = Number(size.rows[0]?.bytes ?? 0);
  // PostgreSQL's own estimate (-1: never analyzed); a filter makes it only an upper bound.
  const tuples = Number(size.rows[0]?.tuples ?? -1);
  const estimatedRows = tuples >= 0 && rowFilter === null ? tuples : null;
  const { min, max } = bounds;
  const count = Math.min(
    MAX_PARTITIONS,
    input.partitions.count ?? Math.max(1, Math.ceil(sourceBytes / input.partitions.targetBytes)),
  );
  let balance: RunPlan['balance'] = 'minmax';
  let partitions: PartitionRange[];
  if (resolved.key && count > 1) {
    // Keyset: a sample of the whole key whatever the strategy (no equal spans of a text or uuid).
    const key = resolved.key;
    const sorted = await overRows(client, input, whereSql, () =>
      keysetSample(client, { schema, table: name, key, where: rowFilter }),
    );
    partitions = planKeysetRanges({ sorted, count, maxPartitions: MAX_PARTITIONS });
    balance = 'sample';
  } else if (resolved.key) {
    partitions = [{ index: 0, lo: null, hi: null, includesNulls: true }];
  } else if (
    cursorKind !== 'ctid' &&
    input.partitions.strategy === 'auto' &&
    min !== null &&
    max !== null &&
    count > 1
  ) {
    const q = await overRows(client, input, whereSql, () =>
      cursorQuantiles(client, {
        schema,
        table: name,
        cursor: cursorName,
        cursorKind: integerKind(cursorKind),
        where: rowFilter,
        min,
        max,
      }),
    );
    partitions = planBalancedRanges({ bounds: q.bounds, count, maxPartitions: MAX_PARTITIONS });
    balance = q.source;
  } else {
    partitions = planUniformRanges({
      min,
      max,
      totalBytes: sourceBytes,
      targetBytes: 1,
      count,
      maxPartitions: MAX_PARTITIONS,
    });
  }
  const plan: RunPlan = {
    version: watermark ? INCREMENTAL_PLAN_VERSION : RUN_PLAN_VERSION,
    ...(watermark ? { mode: 'incremental', watermark } : {}),
    table: input.table,
    runKey: input.runKey,
    typeOptions: planTypeOptions(input),
    ...(metadataColumnsOf(input) ? { metadataColumns: metadataColumnsOf(input) } : {}),
    intermediateRaw: input.intermediateRaw ?? false,
    compacted: input.compacted ?? true,
    extractedAt: input.startedAt,
    cursor: cursorName,
    cursorPgType: resolved.cursorPgType,
    cursorKind,
    ...(resolved.key ? { cursorKey: resolved.key } : {}),
    ...(resolved.tieBreaker ? { tieBreaker: resolved.tieBreaker } : {}),
    cursorUnique: resolved.unique,
    where: input.where,
    whereSql,
    columns,
    partitionCount: partitions.length,
    balance,
    sourceBytes,
    estimatedRows,
    warnings,
  };
  return { plan, ranges: partitions };
}

/** The range of an incremental run (null for a full run), read in the planning transaction. */
async function incrementalRange(
  client: pg.Client,
  input: PlanExportInput,
  run: RunStore,
  all: readonly PgColumn[],
): Promise<PlannedWatermark | null> {
  const spec = input.incremental ?? null;
  if (spec === null) return null;
  const column = all.find((c) => c.name === spec.column);
  if (!column) throw columnNotFound('incremental.column', spec.column, input.table, all);
  return planWatermark({ client, store: run.store, table: input.table, runKey: input.runKey, spec, column });
}

function selectColumns(all: readonly PgColumn[], input: PlanExportInput): PgColumn[] {
  if (input.columns === null) return [...all];
  return input.columns.map((n, i) => {
    const c = all.find((x) => x.name === n);
    if (!c) throw columnNotFound(`source.columns[${i}]`, n, input.table, all);
    return c;
  });
}

/**
 * A metadata column must not share its name with an exported source column: every batch would
 * hold two columns of one name, which the Parquet writer refuses (a schema mismatch, retried
 * for nothing). Typical case: a table loaded by another tool that already has `_extracted_at`.
 */
function checkMetadataNames(selected: readonly { readonly name: string }[], input: PlanExportInput): void {
  const names = selected.map((c) => c.name);
  for (const [key, other] of [
    ['extractedAtColumn', 'extractionIdColumn'],
    ['extractionIdColumn', 'extractedAtColumn'],
  ] as const) {
    const value = input.types?.[key];
    if (value === undefined || value === null || !names.includes(value)) continue;
    const field = `transform.${key}`;
    const taken = new Set([...names, input.types?.[other]]);
    let suggestion = `_pg_parquet${value.startsWith('_') ? value : `_${value}`}`;
    while (taken.has(suggestion)) suggestion = `_${suggestion}`;
    const accepted =
      `a name no exported column has (e.g. "${suggestion}"), null to leave the metadata column out, ` +
      `or source.columns without "${value}"`;
    throw new PgParquetError(
      ErrorType.InvalidInput,
      `invalid ${field}: ${JSON.stringify(value)} is also a column of ${displayName(input.table)} ` +
        `being exported; accepted: ${accepted}`,
      false,
      { field, value, accepted, table: displayName(input.table) },
    );
  }
}

function columnNotFound(field: string, value: string, table: QualifiedName, all: readonly PgColumn[]) {
  const names = all.map((c) => c.name);
  const list = names.length > 12 ? `${names.slice(0, 12).join(', ')}, …` : names.join(', ');
  return new PgParquetError(
    ErrorType.ColumnNotFound,
    `invalid ${field}: ${displayName(table)} has no column "${value}"; accepted: one of ${list}`,
    false,
    { field, value, table: displayName(table) },
  );
}

/** Smallest and largest cursor of the exported rows, in the integer form of `kind`. */
async function integerBounds(
  client: pg.Client,
  table: QualifiedName,
  cursor: string,
  kind: CursorKind,
  filter: string,
): Promise<{ min: string | null; max: string | null }> {
  const r = await client.query<{ min: string | null; max: string | null }>({
    text: `SELECT ${cursorValueSql(kind, `min(${quoteIdent(cursor)})`)}::text AS min,
                  ${cursorValueSql(kind, `max(${quoteIdent(cursor)})`)}::text AS max
             FROM ${quoteQualified(table.schema, table.name)}${filter}`,
    queryMode: 'extended',
  } as pg.QueryConfig);
  return { min: r.rows[0]?.min ?? null, max: r.rows[0]?.max ?? null };
}

/** The integer kind of a cursor that is not a keyset or ctid (the callers have checked). */
function integerKind(kind: PlanCursorKind): CursorKind {
  if (kind === 'keyset' || kind === 'ctid') throw new RangeError(`a ${kind} cursor has no integer form`);
  return kind;
}

/** Whether every read of the run is in one snapshot, strictly (see `strictSnapshot`). */
function inOneSnapshot(input: PlanExportInput): boolean {
  return (input.strictSnapshot ?? false) && typeof input.snapshotId === 'string';
}

/**
 * The heap's pages as the range of a ctid cursor: 0 to the last page of the relation now (a row
 * the run's snapshot sees is on a page that existed when it was written; the last range is open
 * above anyway). Before PostgreSQL 14 a ctid range is a sequential scan with a filter, which
 * every partition would repeat: such a table is then read as one partition.
 */
async function heapPages(
  client: pg.Client,
  table: QualifiedName,
  warnings: string[],
): Promise<{ min: string | null; max: string | null }> {
  const r = await client.query<{ pages: string; version: number }>(
    `SELECT (pg_relation_size(to_regclass($1)) / current_setting('block_size')::int8)::text AS pages,
            current_setting('server_version_num')::int AS version`,
    [quoteQualified(table.schema, table.name)],
  );
  const pages = BigInt(r.rows[0]?.pages ?? '0');
  if ((r.rows[0]?.version ?? 0) < 140000) {
    warnings.push(
      'PostgreSQL before 14 has no TID range scans: the table without a key is read as one partition',
    );
    return { min: null, max: null };
  }
  return pages > 0n ? { min: '0', max: (pages - 1n).toString() } : { min: null, max: null };
}

/**
 * The filter that runs for `where`: checked against the table's columns, with its time-relative
 * values read once here, in the planning transaction (see where-filter.ts). Stored in the plan, so
 * every partition and every retry filters the same rows.
 */
async function planningFilter(client: pg.Client, where: string, all: readonly PgColumn[]): Promise<string> {
  const checked = await checkWhere(
    where,
    all.map((c) => c.name),
  );
  const clock = checked.timeRelative
    ? (await client.query<PlanningClock>(PLANNING_CLOCK_SQL)).rows[0]!
    : null;
  return filterSql(checked, clock);
}

/**
 * Checks, through the extended protocol (which refuses more than one statement) and inside the
 * caller's READ ONLY transaction, that the filter (`sql`, the checked form of the user's `where`)
 * is one boolean expression over the table.
 */
async function checkBooleanAtSource(
  client: pg.Client,
  table: QualifiedName,
  sql: string,
  where: string,
): Promise<void> {
  await client.query('SAVEPOINT pg_parquet_where');
  try {
    const r = await client.query({
      text: `SELECT (${sql}) AS pg_parquet_where FROM ${quoteQualified(table.schema, table.name)} LIMIT 0`,
      queryMode: 'extended',
    } as pg.QueryConfig);
    const type = r.fields[0]?.dataTypeID;
    if (r.fields.length !== 1 || type !== 16) {
      throw new PgParquetError(
        ErrorType.InvalidWhere,
        `invalid source.where: ${JSON.stringify(where)} is not a boolean expression; accepted: one boolean SQL expression`,
        false,
        { field: 'source.where', value: where, dataTypeID: type },
      );
    }
  } catch (err) {
    if (err instanceof PgParquetError) throw err;
    const e = err as { code?: string; message?: string };
    await client.query('ROLLBACK TO SAVEPOINT pg_parquet_where').catch(() => undefined);
    if (typeof e.code === 'string' && /^(42|22|0A)/.test(e.code)) {
      throw new PgParquetError(
        ErrorType.InvalidWhere,
        `invalid source.where: ${JSON.stringify(where)}: ${e.message ?? 'rejected by PostgreSQL'}; accepted: one boolean SQL expression over the table's columns`,
        false,
        { field: 'source.where', value: where, sqlState: e.code },
      );
    }
    throw err;
  }
}

/**
 * Runs a query that evaluates `where` over the table's rows. A data exception (division by zero,
 * a bad cast) is the filter's when the filter alone raises one too: then it is the terminal
 * `PgParquetInvalidWhere`; anything else (e.g. a cursor value out of range) is rethrown as it is.
 */
async function overRows<T>(
  client: pg.Client,
  input: PlanExportInput,
  whereSql: string | null,
  query: () => Promise<T>,
): Promise<T> {
  try {
    return await query();
  } catch (err) {
    if (whereSql === null || !whereDataError(err, input.where)) throw err;
    await client.query('ROLLBACK');
    await client.query('BEGIN READ ONLY');
    try {
      await client.query({
        text: `SELECT count(*) FROM ${quoteQualified(input.table.schema, input.table.name)} WHERE (${whereSql})`,
        queryMode: 'extended',
      } as pg.QueryConfig);
    } catch (filterErr) {
      throw whereDataError(filterErr, input.where) ?? filterErr;
    }
    throw err;
  }
}

/**
 * The type options a plan is made with: every field explicit, so that stored plans compare; but
 * `uuidAs` and `jsonAs` only when they are not the default, so that a plan stored before they
 * existed (which wrote uuid and json as strings) still compares equal on a re-run.
 */
function planTypeOptions(input: PlanExportInput): TypeOptions {
  const t = input.types ?? {};
  const d = DEFAULT_TYPE_OPTIONS;
  const uuidAs = t.uuidAs ?? d.uuidAs;
  const jsonAs = t.jsonAs ?? d.jsonAs;
  return {
    timestampUnit: input.timestampUnit,
    infinity: t.infinity ?? d.infinity,
    numericAsString: t.numericAsString ?? d.numericAsString,
    unconstrainedNumeric: t.unconstrainedNumeric ?? d.unconstrainedNumeric,
    arraysAsText: t.arraysAsText ?? d.arraysAsText,
    timeAs: t.timeAs ?? d.timeAs,
    ...(uuidAs === d.uuidAs ? {} : { uuidAs }),
    ...(jsonAs === d.jsonAs ? {} : { jsonAs }),
  };
}

/**
 * A run planned by ctid page ranges is exact only when all of it is read in one snapshot: a
 * re-run of its runKey without `consistency: "snapshot"` is refused.
 */
function checkCtidSnapshot(plan: RunPlan, input: PlanExportInput): void {
  if (plan.cursorKind !== 'ctid' || inOneSnapshot(input)) return;
  throw new PgParquetError(
    ErrorType.PlanMismatch,
    `run ${input.runKey} of ${displayName(input.table)} was planned by ctid page ranges, which are exact only ` +
      'inside one snapshot; accepted: consistency: "snapshot" (every partition is read again in the new snapshot), or a new runKey',
    false,
    { field: 'consistency', value: input.strictSnapshot ? 'snapshot' : null, accepted: 'snapshot' },
  );
}

/** The metadata column names the run asks for, when its input names them (the workflow always does). */
function metadataColumnsOf(input: PlanExportInput): MetadataColumnNames | undefined {
  const t = input.types;
  if (t?.extractedAtColumn === undefined || t.extractionIdColumn === undefined) return undefined;
  return { extractedAtColumn: t.extractedAtColumn, extractionIdColumn: t.extractionIdColumn };
}

function checkSamePlan(plan: RunPlan, input: PlanExportInput): void {
  const names = metadataColumnsOf(input);
  const planned = plan.metadataColumns;
  const field =
    !planned || !names
      ? undefined
      : planned.extractedAtColumn !== names.extractedAtColumn
        ? 'extractedAtColumn'
        : planned.extractionIdColumn !== names.extractionIdColumn
          ? 'extractionIdColumn'
          : undefined;
  if (field && planned && names) {
    throw new PgParquetError(
      ErrorType.PlanMismatch,
      `run ${input.runKey} of ${displayName(input.table)} was planned with transform.${field} ` +
        `${JSON.stringify(planned[field])}, now ${JSON.stringify(names[field])}; accepted: the same name ` +
        '(files already stored carry it), or a new runKey',
      false,
      { field: `transform.${field}`, value: names[field], planned: planned[field], runKey: input.runKey },
    );
  }
  const requested = planTypeOptions(input);
  if (plan.typeOptions && JSON.stringify(plan.typeOptions) !== JSON.stringify(requested)) {
    throw new PgParquetError(
      ErrorType.PlanMismatch,
      `run ${input.runKey} of ${displayName(input.table)} was planned with other transform type options ` +
        `(${JSON.stringify(plan.typeOptions)}, now ${JSON.stringify(requested)}); accepted: the same options, ` +
        'or a new runKey (files already stored were written with the first ones)',
      false,
      { field: 'runKey', value: input.runKey, planned: plan.typeOptions, requested },
    );
  }
  // Raw files already stored have one format; concatenation would carry it into the data files.
  const intermediateRaw = input.intermediateRaw ?? false;
  if (plan.intermediateRaw !== undefined && plan.intermediateRaw !== intermediateRaw) {
    throw new PgParquetError(
      ErrorType.PlanMismatch,
      `run ${input.runKey} of ${displayName(input.table)} was planned ${plan.intermediateRaw ? 'with' : 'without'} ` +
        'compaction.mode "rewrite" (which decides how raw files are written); accepted: the same ' +
        'compaction settings, or a new runKey',
      false,
      { field: 'compaction.mode', planned: plan.intermediateRaw ? 'rewrite' : 'concat' },
    );
  }
  if (plan.compacted !== (input.compacted ?? true)) {
    throw new PgParquetError(
      ErrorType.PlanMismatch,
      `run ${input.runKey} of ${displayName(input.table)} was planned with compaction.enabled ${plan.compacted} ` +
        '(which decides where batches are stored); accepted: the same compaction settings, or a new runKey',
      false,
      { field: 'compaction.enabled', planned: plan.compacted },
    );
  }
  const same =
    plan.table.schema === input.table.schema &&
    plan.table.name === input.table.name &&
    (input.cursor === null || input.cursor === plan.cursor) &&
    plan.where === input.where &&
    (input.columns === null ||
      JSON.stringify(input.columns) === JSON.stringify(plan.columns.map((c) => c.name)));
  if (!same) {
    throw new PgParquetError(
      ErrorType.PlanMismatch,
      `run ${input.runKey} of ${displayName(input.table)} was planned with other settings ` +
        `(cursor ${plan.cursor}, where ${JSON.stringify(plan.where)}); accepted: the same source settings, or a new runKey`,
      false,
      { field: 'runKey', value: input.runKey },
    );
  }
}

/** Input of the activity that hands the workflow one chunk of partition ranges. */
export interface PlanRangesInput {
  readonly table: QualifiedName;
  readonly destination: string;
  readonly runKey: string;
  readonly start: number;
  readonly count: number;
}

/** Reads ranges [start, start + count) of the stored plan. */
export async function planRanges(
  input: PlanRangesInput,
  deps: Pick<PlanDeps, 'openStore'>,
): Promise<{ ranges: PartitionRange[] }> {
  const run = RunStore.open(deps.openStore(input.destination), input.table, input.runKey);
  return { ranges: await run.ranges(input.start, input.count) };
}
