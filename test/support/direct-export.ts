/**
 * The export's phases called directly, without Temporal (the seam the activities adapt), for tests
 * that need to act between them: plan a run and get its partition ranges, extract them.
 */
import { extractPartition } from '../../src/export/extract-partition.js';
import { planExport, planRanges } from '../../src/export/plan-export.js';
import type { PartitionRange } from '../../src/plan/partitions.js';
import type { PartitionStrategy } from '../../src/contract/export-input.js';
import type { WatermarkSpec } from '../../src/contract/incremental.js';
import { openObjectStore } from '../../src/storage/destination.js';
import type { QualifiedName } from '../../src/contract/table-name.js';

/** Plans `table` by `id` into `partitions` ranges under `destination`/runKey; returns the ranges. */
export async function planDirect(options: {
  readonly table: QualifiedName;
  readonly destination: string;
  readonly runKey: string;
  readonly partitions: number;
  readonly strategy?: PartitionStrategy;
  readonly startedAt?: string;
  /** An incremental run's watermark (absent: a full run). */
  readonly incremental?: WatermarkSpec;
}): Promise<PartitionRange[]> {
  const { table, destination, runKey } = options;
  const { plan } = await planExport(
    {
      connection: 'default',
      table,
      cursor: 'id',
      columns: null,
      where: null,
      destination,
      runKey,
      startedAt: options.startedAt ?? new Date().toISOString(),
      partitions: { count: options.partitions, targetBytes: 1 << 29, strategy: options.strategy ?? 'minmax' },
      timestampUnit: 'us',
      incremental: options.incremental ?? null,
    },
    { openStore: openObjectStore },
  );
  const { ranges } = await planRanges(
    { table, destination, runKey, start: 0, count: plan.partitionCount },
    { openStore: openObjectStore },
  );
  return ranges;
}

/** Extracts every range of a planned run, one after the other, in batches of `batchRows` rows. */
export async function extractDirect(options: {
  readonly table: QualifiedName;
  readonly destination: string;
  readonly runKey: string;
  readonly ranges: readonly PartitionRange[];
  readonly batchRows: number;
}): Promise<void> {
  const { table, destination, runKey } = options;
  for (const partition of options.ranges) {
    await extractPartition(
      {
        connection: 'default',
        table,
        destination,
        runKey,
        partition,
        batch: { rows: options.batchRows, bytes: 1 << 26 },
        transform: {
          extractedAtColumn: '_extracted_at',
          extractionIdColumn: '_extraction_id',
          timestampUnit: 'us',
        },
        parquet: { compression: 'zstd', rowGroupRows: 1_000_000 },
      },
      { heartbeat: () => undefined, signal: new AbortController().signal },
      { openStore: openObjectStore },
    );
  }
}
