/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util';

/** What one bench run measures, and how often. */
export interface BenchOptions {
  /** Rows of `bench_events` (created or re-created to exactly this count). */
  readonly rows: number;
  /** Repetitions of every measurement; the report gives the median. */
  readonly repeat: number;
  /** Partitions (id ranges) of our export and of the anchors, and their concurrency. */
  readonly partitions: number;
  /** Run the Python anchors (needs the cached venvs of scripts/bench-python.sh). */
  readonly anchors: boolean;
  /** Run DuckDB's postgres scanner anchor (when the anchors run). */
  readonly duckdb: boolean;
  /** Run the exportTable workflow through Temporal: the CLI headline and the library variant. */
  readonly workflow: boolean;
  /** Run the compaction comparison. */
  readonly compaction: boolean;
  /** Row counts of the memory-scaling run, or empty when it is not requested. */
  readonly scalingRows: readonly number[];
}

/** Usage text, printed by `--help`. */
export const USAGE = `npm run bench -- [options]
  --rows N            rows of bench_events (default 1000000)
  --repeat N          repetitions per measurement, median reported (default 3)
  --partitions N      partitions / id ranges, run concurrently (default 2)
  --no-anchors        skip the Python anchors (ConnectorX + Polars, DuckDB, compaction engines)
  --no-duckdb         skip DuckDB's postgres scanner anchor only
  --no-workflow       skip the exportTable workflow runs (the CLI headline, the library variant)
  --no-compaction     skip the compaction comparison
  --scaling           also measure our extraction's peak RSS at 1M and 10M rows
  --scaling-rows A,B  row counts of the scaling run (default 1000000,10000000)`;

function positiveInt(name: string, text: string): number {
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`invalid --${name} ${JSON.stringify(text)}: expected a positive integer`);
  }
  return n;
}

/**
 * Parses the bench's arguments (without the node and script paths).
 * @returns the options, or `undefined` when `--help` was asked for.
 * @throws RangeError or TypeError on unknown options or bad values.
 */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      rows: { type: 'string', default: '1000000' },
      repeat: { type: 'string', default: '3' },
      partitions: { type: 'string', default: '2' },
      'no-anchors': { type: 'boolean', default: false },
      'no-duckdb': { type: 'boolean', default: false },
      'no-workflow': { type: 'boolean', default: false },
      'no-compaction': { type: 'boolean', default: false },
      scaling: { type: 'boolean', default: false },
      'scaling-rows': { type: 'string', default: '1000000,10000000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const scalingRows = values['scaling-rows'].split(',').map((s) => positiveInt('scaling-rows', s.trim()));
  return {
    rows: positiveInt('rows', values.rows),
    repeat: positiveInt('repeat', values.repeat),
    partitions: positiveInt('partitions', values.partitions),
    anchors: !values['no-anchors'],
    duckdb: !values['no-anchors'] && !values['no-duckdb'],
    workflow: !values['no-workflow'],
    compaction: !values['no-compaction'],
    scalingRows: values.scaling ? scalingRows : [],
  };
}
