/**
 * One measured extraction through the activity code path (plan + one extractPartition per
 * partition, all partitions at once), without Temporal. Run as a child process so that its peak
 * RSS is its own. Prints one JSON line.
 *   node --import tsx bench/extract-once.ts <table> <destination> <partitions> <runKey>
 */
import { extractPartition } from '../src/export/extract-partition.js';
import { planExport, planRanges } from '../src/export/plan-export.js';
import { openObjectStore } from '../src/storage/destination.js';

const [
  table = 'bench_events',
  destination = 'file:///tmp/pg-parquet-bench',
  parts = '2',
  runKey = `bench-${Date.now()}`,
  batchRows = '250000',
] = process.argv.slice(2);
const qualified = { schema: 'public', name: table };
const t0 = process.hrtime.bigint();
const { plan } = await planExport(
  {
    connection: 'default',
    table: qualified,
    cursor: 'id',
    columns: null,
    where: null,
    destination,
    runKey,
    startedAt: new Date().toISOString(),
    partitions: { count: Number(parts), targetBytes: 1 << 29, strategy: 'minmax' },
    timestampUnit: 'ms',
  },
  { openStore: openObjectStore },
);
const { ranges } = await planRanges(
  { table: qualified, destination, runKey, start: 0, count: plan.partitionCount },
  { openStore: openObjectStore },
);
const ctx = { heartbeat: () => undefined, signal: new AbortController().signal };
const results = await Promise.all(
  ranges.map((partition) =>
    extractPartition(
      {
        connection: 'default',
        table: qualified,
        destination,
        runKey,
        partition,
        batch: { rows: Number(batchRows), bytes: 64 << 20 },
        transform: {
          extractedAtColumn: '_extracted_at',
          extractionIdColumn: '_extraction_id',
          timestampUnit: 'ms',
        },
        parquet: { compression: 'zstd', rowGroupRows: 1_000_000 },
      },
      ctx,
      { openStore: openObjectStore },
    ),
  ),
);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const rows = results.reduce((s, r) => s + r.rows, 0);
const bytesOut = results.reduce((s, r) => s + r.bytes, 0);
console.log(
  JSON.stringify({
    rows,
    seconds,
    rows_per_s: rows / seconds,
    bytes_out: bytesOut,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
