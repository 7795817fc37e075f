/**
 * Child process of the bench: compaction of one extracted run's raw files into a single data file
 * (the compaction activities' code path, without Temporal), so that its peak RSS is its own.
 * Prints one JSON line.
 *
 *   node --import tsx bench/ours-compact.ts --table public.bench_events \
 *     --destination file:///tmp/x --run-key bench-1
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ROW_GROUP_ROWS } from '../src/contract/export-input.js';
import { compactGroup, planCompaction } from '../src/export/compact.js';
import { openObjectStore } from '../src/storage/destination.js';
import { parseQualifiedName } from '../src/contract/table-name.js';
import { startEventLoopMonitor } from './event-loop-delay.js';
import { startMemorySampler } from './memory-sampler.js';

const { values } = parseArgs({
  options: {
    table: { type: 'string', default: 'public.bench_events' },
    destination: { type: 'string' },
    'run-key': { type: 'string' },
  },
});
if (!values.destination || !values['run-key'])
  throw new TypeError('--destination and --run-key are required');
const where = {
  table: parseQualifiedName(values.table, '--table'),
  destination: values.destination,
  runKey: values['run-key'],
};
const deps = { openStore: openObjectStore };

const memory = startMemorySampler();
const loop = startEventLoopMonitor();
const t0 = performance.now();
// One output file, as the anchors write.
const { groups } = await planCompaction({ ...where, targetFileBytes: Number.MAX_SAFE_INTEGER }, deps);
let rows = 0;
let rowGroups = 0;
let bytes = 0;
for (let group = 0; group < groups; group++) {
  const r = await compactGroup(
    { ...where, group, parquet: { compression: 'zstd', rowGroupRows: DEFAULT_ROW_GROUP_ROWS } },
    { heartbeat: () => undefined },
    deps,
  );
  rows += r.rows;
  rowGroups += r.rowGroups;
  bytes += r.bytes;
}
console.log(
  JSON.stringify({
    rows,
    seconds: (performance.now() - t0) / 1000,
    files_out: groups,
    row_groups_out: rowGroups,
    bytes_out: bytes,
    ...memory.stop(),
    ...loop.stop(),
  }),
);
