/**
 * One measured compaction of a run's raw files into one data file (the compaction activity's code
 * path, without Temporal), in a child process for its own peak RSS. Prints one JSON line.
 *   node --import tsx bench/compact-once.ts <table> <destination> <runKey>
 */
import { compactGroup, planCompaction } from '../src/export/compact.js';
import { openObjectStore } from '../src/storage/destination.js';

const [table = 'bench_events', destination = 'file:///tmp/pg-parquet-bench', runKey = 'bench'] =
  process.argv.slice(2);
const where = { table: { schema: 'public', name: table }, destination, runKey };
const t0 = process.hrtime.bigint();
const { groups } = await planCompaction(
  { ...where, targetFileBytes: Number.MAX_SAFE_INTEGER },
  { openStore: openObjectStore },
);
let rows = 0;
let rowGroups = 0;
for (let group = 0; group < groups; group++) {
  const r = await compactGroup(
    { ...where, group, parquet: { compression: 'zstd', rowGroupRows: 1_000_000 } },
    { heartbeat: () => undefined },
    { openStore: openObjectStore },
  );
  rows += r.rows;
  rowGroups += r.rowGroups;
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  JSON.stringify({
    rows,
    seconds,
    rows_per_s: rows / seconds,
    row_groups_out: rowGroups,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
