/**
 * Child process of the bench: one export through the activity code path, without Temporal —
 * `planExport`, then `extractPartition` for every partition at once (concurrency = partitions) —
 * so that its peak RSS is its own. Prints one JSON line.
 *
 *   node --import tsx bench/ours-extract.ts --table public.bench_events \
 *     --destination file:///tmp/x --partitions 2 --run-key bench-1 [--batch-rows 250000]
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_ROWS,
  DEFAULT_ROW_GROUP_ROWS,
  DEFAULT_TARGET_PARTITION_BYTES,
} from '../src/contract/export-input.js';
import { extractPartition } from '../src/export/extract-partition.js';
import { planExport, planRanges } from '../src/export/plan-export.js';
import { openObjectStore } from '../src/storage/destination.js';
import { parseQualifiedName } from '../src/contract/table-name.js';
import { startEventLoopMonitor } from './event-loop-delay.js';
import { startMemorySampler } from './memory-sampler.js';

const { values } = parseArgs({
  options: {
    table: { type: 'string', default: 'public.bench_events' },
    destination: { type: 'string' },
    partitions: { type: 'string', default: '2' },
    'run-key': { type: 'string' },
    'batch-rows': { type: 'string', default: String(DEFAULT_BATCH_ROWS) },
    /** Write raw files as compaction's intermediates (data page v2), as the workflow does. */
    intermediate: { type: 'boolean', default: false },
  },
});
if (!values.destination || !values['run-key'])
  throw new TypeError('--destination and --run-key are required');
const destination = values.destination;
const runKey = values['run-key'];
const table = parseQualifiedName(values.table, '--table');
const deps = { openStore: openObjectStore };

const memory = startMemorySampler();
const loop = startEventLoopMonitor();
const t0 = performance.now();
const { plan } = await planExport(
  {
    connection: 'default',
    table,
    cursor: 'id',
    columns: null,
    where: null,
    destination,
    runKey,
    startedAt: new Date().toISOString(),
    // Uniform id ranges, as the anchors split the table.
    partitions: {
      count: Number(values.partitions),
      targetBytes: DEFAULT_TARGET_PARTITION_BYTES,
      strategy: 'minmax',
    },
    timestampUnit: 'ms',
  },
  deps,
);
const { ranges } = await planRanges(
  { table, destination, runKey, start: 0, count: plan.partitionCount },
  deps,
);
const t1 = performance.now();
const ctx = { heartbeat: () => undefined, signal: new AbortController().signal };
const results = await Promise.all(
  ranges.map((partition) =>
    extractPartition(
      {
        connection: 'default',
        table,
        destination,
        runKey,
        partition,
        batch: { rows: Number(values['batch-rows']), bytes: DEFAULT_BATCH_BYTES },
        // The workflow's defaults, except ms timestamps: the anchor casts datetimes to ms.
        transform: {
          extractedAtColumn: '_extracted_at',
          extractionIdColumn: '_extraction_id',
          timestampUnit: 'ms',
        },
        parquet: { compression: 'zstd', rowGroupRows: DEFAULT_ROW_GROUP_ROWS },
        intermediate: values.intermediate,
      },
      ctx,
      deps,
    ),
  ),
);
const t2 = performance.now();
const rows = results.reduce((s, r) => s + r.rows, 0);
console.log(
  JSON.stringify({
    rows,
    seconds: (t2 - t0) / 1000,
    plan_seconds: (t1 - t0) / 1000,
    extract_seconds: (t2 - t1) / 1000,
    partitions: results.length,
    skipped: results.filter((r) => r.skipped).length,
    files: results.reduce((s, r) => s + r.files, 0),
    bytes_out: results.reduce((s, r) => s + r.bytes, 0),
    ...memory.stop(),
    ...loop.stop(),
  }),
);
