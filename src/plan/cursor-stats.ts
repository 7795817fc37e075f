/**
 * The cursor's distribution, for row-balanced planning: PostgreSQL's own histogram (pg_stats)
 * when it describes the rows we export, else a bounded sample, else just min and max.
 */
import type pg from 'pg';
import { CURSOR_SQL_TYPE, cursorValueSql, type CursorKind } from '../postgres/cursor-kind.js';
import { quoteIdent, quoteQualified } from '../contract/identifiers.js';
import { keyOrderSql, keyTextSql, type KeyColumn } from '../postgres/cursor-key.js';

/** Values sampled at most, whatever the table size. */
const MAX_SAMPLE_ROWS = 100_000;
/** Pages sampled at most (about what ANALYZE reads at the default statistics target). */
const SAMPLE_PAGES = 30_000;
/** Quantiles kept from a sample (like a statistics target). */
const SAMPLE_QUANTILES = 200;

/** What {@link cursorQuantiles} needs. */
export interface QuantileQuery {
  readonly schema: string;
  readonly table: string;
  readonly cursor: string;
  /** Integers, dates or timestamps: bounds come back in the integer form (see cursor-kind.ts). */
  readonly cursorKind?: CursorKind;
  readonly where: string | null;
  readonly min: string;
  readonly max: string;
}

/** Ascending bounds (min first, max last) and where they came from. */
export interface CursorQuantiles {
  readonly bounds: string[];
  readonly source: 'pg_stats' | 'sample' | 'minmax';
}

/** Reads the cursor's quantiles (safe inside a READ ONLY transaction). */
export async function cursorQuantiles(client: pg.ClientBase, q: QuantileQuery): Promise<CursorQuantiles> {
  const kind = q.cursorKind ?? 'integer';
  const withEnds = (inner: string[]): string[] => {
    const min = BigInt(q.min);
    const max = BigInt(q.max);
    const mid = inner.map((v) => BigInt(v)).filter((v) => v > min && v < max);
    return [min, ...mid, max].map(String);
  };
  if (q.where === null) {
    // A filter changes the distribution: pg_stats describes the whole table only.
    const stats = await client.query<{ bounds: string[] | null }>(
      `SELECT (SELECT array_agg(${cursorValueSql(kind, `b::${CURSOR_SQL_TYPE[kind]}`)}::text ORDER BY o)
                 FROM unnest(histogram_bounds::text::text[]) WITH ORDINALITY AS u(b, o)) AS bounds
         FROM pg_stats WHERE schemaname = $1 AND tablename = $2 AND attname = $3`,
      [q.schema, q.table, q.cursor],
    );
    const bounds = stats.rows[0]?.bounds;
    if (bounds && bounds.length >= 10) return { bounds: withEnds(bounds), source: 'pg_stats' };
  }
  const percent = await samplePercent(client, q.schema, q.table);
  const c = quoteIdent(q.cursor);
  const filter = q.where === null ? '' : ` AND (${q.where})`;
  // ORDER BY random() before LIMIT: a LIMIT on ordered or heap-ordered rows would keep one end only.
  const sample = await client.query<{ v: string }>(
    `SELECT ${cursorValueSql(kind, c)}::text AS v FROM ${quoteQualified(q.schema, q.table)} TABLESAMPLE SYSTEM (${percent.toFixed(6)})
      WHERE ${c} IS NOT NULL${filter} ORDER BY random() LIMIT ${MAX_SAMPLE_ROWS}`,
  );
  const values = sample.rows.map((r) => BigInt(r.v)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (values.length < 2) return { bounds: [q.min, q.max], source: 'minmax' };
  const quantiles: string[] = [];
  for (let i = 1; i < SAMPLE_QUANTILES; i++) {
    quantiles.push(values[Math.floor((i * (values.length - 1)) / SAMPLE_QUANTILES)]!.toString());
  }
  return { bounds: withEnds(quantiles), source: 'sample' };
}

/** Sample pages, not rows: reltuples is unknown before the first ANALYZE, the size is not. */
async function samplePercent(client: pg.ClientBase, schema: string, table: string): Promise<number> {
  const size = await client.query<{ pages: number }>(
    "SELECT pg_relation_size(to_regclass($1)) / current_setting('block_size')::float8 AS pages",
    [quoteQualified(schema, table)],
  );
  const pages = size.rows[0]?.pages ?? 0;
  return pages > SAMPLE_PAGES ? (100 * SAMPLE_PAGES) / pages : 100;
}

/** What {@link keysetSample} needs. */
export interface KeysetSampleQuery {
  readonly schema: string;
  readonly table: string;
  readonly key: readonly KeyColumn[];
  /** The rows the run exports (the user's filter and the watermark range), or null. */
  readonly where: string | null;
}

/**
 * A bounded sample of the whole key (NULL keys left out), sorted by the
 * database in the key's order and collation (plan/keyset.ts cuts it at quantiles). A histogram
 * of the leading column alone would not give whole-key bounds for a composite key.
 */
export async function keysetSample(client: pg.ClientBase, q: KeysetSampleQuery): Promise<string[][]> {
  const percent = await samplePercent(client, q.schema, q.table);
  const filter = q.where === null ? '' : ` AND (${q.where})`;
  const notNull = q.key.map((k) => `${quoteIdent(k.name)} IS NOT NULL`).join(' AND ');
  const list = q.key.map((k) => quoteIdent(k.name)).join(', ');
  const r = await client.query<{ k: string[] }>(
    `SELECT ${keyTextSql(q.key)} AS k FROM (
        SELECT ${list} FROM ${quoteQualified(q.schema, q.table)} TABLESAMPLE SYSTEM (${percent.toFixed(6)})
         WHERE ${notNull}${filter} ORDER BY random() LIMIT ${MAX_SAMPLE_ROWS}) s
      ORDER BY ${keyOrderSql(q.key, false)}`,
  );
  return r.rows.map((row) => row.k);
}
