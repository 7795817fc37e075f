/**
 * A table's runs over time, as the destination records them: the listing `pg-parquet runs` prints,
 * and the successful incremental runs on either side of a runKey, from which a run's watermark
 * range starts and against which it is checked. The destination is the only source: what a
 * workflow remembers is never consulted.
 */
import pMap from 'p-map';
import type { RunMode } from '../contract/incremental.js';
import type { QualifiedName } from '../contract/table-name.js';
import { watermarkRangeOf, type WatermarkNeighbour } from '../plan/watermark.js';
import type { WatermarkRange } from '../contract/incremental.js';
import { compareKeys, type ObjectStore } from '../storage/object-store.js';
import type { Manifest } from './manifest.js';
import { RunStore, STORE_READ_CONCURRENCY } from './run-store.js';

/** Which table, in which destination. */
export interface TableLocation {
  readonly store: ObjectStore;
  readonly table: QualifiedName;
}

/** One run of a table as `pg-parquet runs` lists it. */
export interface TableRun {
  readonly runKey: string;
  /** `succeeded`: `_SUCCESS` is stored; `unfinished`: running, failed, cancelled or superseded. */
  readonly state: 'succeeded' | 'unfinished';
  /** From the manifest, else the plan; null for a run folder without a (readable) plan. */
  readonly mode: RunMode | null;
  readonly watermark: WatermarkRange | null;
  /** Totals of a succeeded run (null while unfinished). */
  readonly rows: number | null;
  readonly files: number | null;
  readonly bytes: number | null;
  /** The run's `_extracted_at` (its first start), once planned. */
  readonly extractedAt: string | null;
}

/** Every run folder of the table, in runKey order, with its state. */
export async function listTableRuns(at: TableLocation): Promise<TableRun[]> {
  const runKeys = await RunStore.runKeys(at.store, at.table);
  return pMap(
    runKeys,
    async (runKey): Promise<TableRun> => {
      const run = RunStore.open(at.store, at.table, runKey);
      const done = await run.completed();
      if (done) {
        const m = done.manifest;
        return {
          runKey,
          state: 'succeeded',
          mode: modeOf(m),
          watermark: m.watermark ?? null,
          rows: m.totals.rows,
          files: m.totals.files,
          bytes: m.totals.bytes,
          extractedAt: m.extractedAt,
        };
      }
      // A plan of a version this one does not read still shows as a run, of unknown mode.
      const plan = await run.plan().catch(() => undefined);
      return {
        runKey,
        state: 'unfinished',
        mode: plan ? (plan.mode ?? 'full') : null,
        watermark: plan?.watermark ? watermarkRangeOf(plan.watermark) : null,
        rows: null,
        files: null,
        bytes: null,
        extractedAt: plan?.extractedAt ?? null,
      };
    },
    { concurrency: STORE_READ_CONCURRENCY },
  );
}

/** The successful incremental runs next to a runKey: the newest before it, the oldest after it. */
export interface Neighbours {
  readonly previous: WatermarkNeighbour | undefined;
  readonly next: WatermarkNeighbour | undefined;
}

/**
 * The newest successful incremental run with a smaller runKey and the oldest with a greater one
 * (full runs are passed over: they do not take part in the chain of ranges). Reads `_SUCCESS`
 * and the manifest of runs outward from `runKey` until it finds one on each side.
 */
export async function successfulNeighbours(
  at: TableLocation & { readonly runKey: string },
): Promise<Neighbours> {
  const runKeys = await RunStore.runKeys(at.store, at.table);
  const find = async (candidates: readonly string[]): Promise<WatermarkNeighbour | undefined> => {
    for (const runKey of candidates) {
      const done = await RunStore.open(at.store, at.table, runKey).completed();
      const watermark = done?.manifest.watermark;
      if (done && modeOf(done.manifest) === 'incremental' && watermark) return { runKey, watermark };
    }
    return undefined;
  };
  const before = runKeys.filter((k) => compareKeys(k, at.runKey) < 0).reverse();
  const after = runKeys.filter((k) => compareKeys(k, at.runKey) > 0);
  return { previous: await find(before), next: await find(after) };
}

function modeOf(m: Manifest): RunMode {
  return m.mode ?? 'full';
}
