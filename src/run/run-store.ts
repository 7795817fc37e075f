/**
 * A run's durable state, and the questions the activities ask of it: the one module that knows
 * which objects a run stores, in which order, and what counts as done.
 *
 * - planned: `_plan.json` exists (its range chunks were written before it);
 * - a partition is done: its `_partitions/part=<p>.json` marker exists; before that, its stored batches
 *   0..k-1 (verified from their footers) are a prefix that a retry keeps and continues after;
 * - compaction is planned: `_compaction.json` exists (its group chunks were written before it);
 *   a data file is done when it is stored with its group's row count;
 * - the run is done: `_manifest.json`, then `_SUCCESS`, written last; then the table's
 *   `_latest.json` points to it (unless a run with a greater runKey already succeeded);
 * - retention removes a successful run: `_DELETING` first, then `_SUCCESS`, the files its
 *   manifest lists, its other `_` documents, `_manifest.json`, and `_DELETING` last.
 */
import { createHash, randomBytes } from 'node:crypto';
import pMap from 'p-map';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import { PARTITIONS_PER_CHUNK } from '../contract/chunks.js';
import { displayName, type QualifiedName } from '../contract/table-name.js';
import type { RunSnapshot } from '../contract/snapshot.js';
import { concatLayout } from '../parquet/concat.js';
import { readStoredParquetInfo, readStoredParquetTail } from '../parquet/stored-footer.js';
import { intField } from '../parquet/thrift-compact.js';
import { parquetRowCount } from '../parquet/footer.js';
import type { CompactionGroup, CompactionInput } from '../plan/compaction.js';
import { coverageProblem, samePartition, type PartitionRange } from '../plan/partitions.js';
import type { CursorValue } from '../postgres/cursor-key.js';
import type { ObjectStore } from '../storage/object-store.js';
import { compareKeys } from '../storage/object-store.js';
import {
  COMPACTION_PLAN_VERSION,
  LATEST_RUN_VERSION,
  type BatchFile,
  type CompactionSummary,
  type LatestRun,
  type PartitionReadIn,
  type PartitionStats,
} from './documents.js';
import {
  createBytes,
  createJson,
  jsonBytes,
  putIfChanged,
  readJson,
  writeJsonIfChanged,
} from './json-object.js';
import {
  batchKey,
  batchPrefix,
  compactionGroupsKey,
  compactionKey,
  dataFileKey,
  deletingKey,
  latestKey,
  manifestKey,
  parseBatchKey,
  partitionDoneKey,
  planKey,
  probeKey,
  rangesKey,
  runKeyOfFolder,
  runPrefix,
  successKey,
  tablePrefix,
  type RunLocation,
} from './keys.js';
import type { Manifest } from './manifest.js';
import { RANGES_PER_CHUNK, READABLE_PLAN_VERSIONS, type RangesChunk, type RunPlan } from './run-plan.js';

/** Concurrent small reads (markers, footers) against the object store. */
export const STORE_READ_CONCURRENCY = 32;

/** Compaction groups per `_compaction/groups-<chunk>.json` (the workflow works a chunk at a time). */
const GROUPS_PER_CHUNK = PARTITIONS_PER_CHUNK;

/**
 * Parquet key/value metadata of a raw batch: its cursor span, so a resumed attempt can read it
 * back. One key only: parquet-wasm does not keep the order of several keys, and the file must be
 * byte-identical when it is written again.
 */
const BATCH_METADATA_KEY = 'pg_parquet.batch';

/**
 * The key/value metadata to write into raw batch file (see {@link RunStore.storedBatches}): its
 * cursor span and, under a run's snapshot, which snapshot it was read in (so that a batch of a
 * lost snapshot is not resumed after).
 */
export function batchMetadata(
  cursorMin: CursorValue | null,
  cursorMax: CursorValue | null,
  snapshot: RunSnapshot | null = null,
): Record<string, string> {
  const span = snapshot
    ? { cursorMin, cursorMax, snapshot: snapshotToken(snapshot) }
    : { cursorMin, cursorMax };
  return { [BATCH_METADATA_KEY]: JSON.stringify(span) };
}

/**
 * What identifies a snapshot in stored state: `pg_current_snapshot()` (xmin, xmax and the
 * transactions in progress). Two exported snapshots with the same one see exactly the same
 * rows, so they count as one; the id alone could repeat after a server restart.
 */
function snapshotToken(snapshot: RunSnapshot): string {
  return snapshot.point.snapshot;
}

/** Whether a finished partition was read wholly in `snapshot` (any snapshot when it is null). */
export function readInSnapshot(stats: PartitionStats, snapshot: RunSnapshot | null): boolean {
  if (snapshot === null) return true;
  const r = stats.readIn;
  return r !== undefined && !r.mixed && r.snapshotId !== null && r.snapshot === snapshotToken(snapshot);
}

/**
 * What a run's finished partitions are consistent with: the one exported snapshot every one of
 * them was read in wholly (snapshots that see the same transactions count as one; the first
 * partition's is stated), or else none (each partition its own). Derived from the markers, not
 * from the run's current snapshot: a re-run that skips every partition states what they hold.
 */
export function sharedSnapshot(
  partitions: readonly PartitionStats[],
): (PartitionReadIn & { snapshotId: string }) | null {
  const first = partitions[0]?.readIn;
  if (!first || first.snapshotId === null) return null;
  const one = partitions.every(
    (p) =>
      p.readIn && !p.readIn.mixed && p.readIn.snapshotId !== null && p.readIn.snapshot === first.snapshot,
  );
  return one ? { ...first, snapshotId: first.snapshotId } : null;
}

/** Batches an earlier attempt stored for a partition (see {@link RunStore.storedBatches}). */
export interface StoredBatches {
  readonly files: BatchFile[];
  /** True when one of them was read in another snapshot than the one asked about. */
  readonly otherSnapshot: boolean;
}

/** `_compaction.json` as version 1 wrote it: every group inline. Read so that older runs resume. */
interface CompactionPlanV1 {
  readonly targetFileBytes: number;
  readonly groups: readonly CompactionGroup[];
}

/** One run (table + runKey) in one object store. */
export class RunStore {
  private constructor(
    /** The object store the run lives in. */
    readonly store: ObjectStore,
    private readonly location: RunLocation,
  ) {}

  /** The run of `table` under `runKey` in `store`. Opening reads nothing. */
  static open(store: ObjectStore, table: QualifiedName, runKey: string): RunStore {
    return new RunStore(store, { table, runKey });
  }

  /** The runKeys of every run folder of `table` in `store` (finished or not), in key order. */
  static async runKeys(store: ObjectStore, table: QualifiedName): Promise<string[]> {
    const folders = await store.listFolders(tablePrefix(table));
    return folders
      .map(runKeyOfFolder)
      .filter((k): k is string => k !== undefined)
      .sort(compareKeys);
  }

  /** `schema.table` as displayed (for messages). */
  get table(): string {
    return displayName(this.location.table);
  }

  get runKey(): string {
    return this.location.runKey;
  }

  /** Full URL of one of the run's keys. */
  urlOf(key: string): string {
    return this.store.urlOf(key);
  }

  // --- the plan -------------------------------------------------------------------------------

  /** The stored plan, or undefined when the run is not planned yet. */
  async plan(): Promise<RunPlan | undefined> {
    const plan = await readJson<RunPlan>(this.store, planKey(this.location));
    return plan && this.readablePlan(plan);
  }

  /** `plan` when this version can run it; else the terminal PlanMismatch. */
  private readablePlan(plan: RunPlan): RunPlan {
    if (!READABLE_PLAN_VERSIONS.includes(plan.version)) {
      throw new PgParquetError(
        ErrorType.PlanMismatch,
        `_plan.json of run ${this.runKey} has version ${plan.version}, expected ${READABLE_PLAN_VERSIONS.join(' or ')}; ` +
          'accepted: a new runKey (this run was planned by another version)',
        false,
        { runKey: this.runKey, version: plan.version },
      );
    }
    return plan;
  }

  /** The stored plan; a run that must have one and has none cannot continue. */
  async requirePlan(): Promise<RunPlan> {
    const plan = await this.plan();
    if (!plan) {
      throw new PgParquetError(ErrorType.PlanMismatch, `no plan stored for run ${this.runKey}`, false, {
        runKey: this.runKey,
      });
    }
    return plan;
  }

  /**
   * Checks, before any source is read, that the destination takes writes: writes a few bytes
   * under a `_probe-<nonce>` key of the run and deletes them again. A missing bucket, refused credentials,
   * a read-only folder or a path through a file fail here with the store's typed error. The
   * delete is best effort (a store that lets us write but not delete is still usable; the
   * `_`-prefixed object is skipped by readers).
   */
  async probeWrites(): Promise<void> {
    const key = probeKey(this.location, randomBytes(6).toString('hex'));
    await this.store.put(key, new TextEncoder().encode('pg-parquet write probe\n'), 'text/plain');
    await this.store.delete([key]).catch(() => undefined);
  }

  /**
   * Stores the plan unless the runKey has one: the ranges first, under `_plan/<rangesId>/` (the
   * digest of the range list, so no other plan writes these keys), then `_plan.json`
   * create-only (its presence implies its ranges). The plan that wins `_plan.json` decides the
   * run: when another run of this runKey (or an earlier attempt) stored one first, that plan is
   * returned with `created` false (the caller adopts it or refuses it) and this call's ranges,
   * if they are another list, are deleted again.
   */
  async storePlan(
    plan: RunPlan,
    ranges: readonly PartitionRange[],
  ): Promise<{ readonly plan: RunPlan; readonly created: boolean }> {
    const rangesId = listDigest(ranges);
    const keys = await this.createChunks(
      ranges,
      RANGES_PER_CHUNK,
      (chunk) => rangesKey(this.location, chunk, rangesId),
      (slice): RangesChunk => ({ partitionCount: ranges.length, ranges: slice }),
    );
    const doc: RunPlan = { ...plan, partitionCount: ranges.length, rangesId };
    const { created, stored } = await createJson(this.store, planKey(this.location), doc);
    if (created) return { plan: doc, created };
    if (stored.rangesId !== rangesId) await this.store.delete(keys).catch(() => undefined);
    return { plan: this.readablePlan(stored), created: false };
  }

  /**
   * Ranges [start, start + count) of the stored plan (within one chunk or across chunks); `plan`
   * is read when not given.
   */
  async ranges(start: number, count: number, plan?: RunPlan): Promise<PartitionRange[]> {
    const stored = plan ?? (await this.requirePlan());
    const out: PartitionRange[] = [];
    for (let chunk = Math.floor(start / RANGES_PER_CHUNK); out.length < count; chunk++) {
      const doc = await this.rangesChunk(stored, chunk);
      if (!doc) break;
      for (const r of doc.ranges) if (r.index >= start && r.index < start + count) out.push(r);
      if (doc.ranges.length < RANGES_PER_CHUNK) break;
    }
    return out;
  }

  /**
   * The coverage proof, before a manifest may be written: every range of the plan, read back,
   * must be the list the plan was made with (its digest, and the partition count recorded with
   * each chunk) and partition the whole cursor domain (see `coverageProblem`). Otherwise the
   * ranges and `_plan.json` come from different plans of this runKey: a terminal
   * PgParquetVerificationFailed, never a manifest over part of the table.
   */
  async coveringRanges(plan: RunPlan): Promise<PartitionRange[]> {
    const all: PartitionRange[] = [];
    for (let chunk = 0; ; chunk++) {
      const doc = await this.rangesChunk(plan, chunk);
      if (!doc) break;
      if (doc.partitionCount !== undefined && doc.partitionCount !== plan.partitionCount) {
        throw lost(
          `run ${this.runKey}: range chunk ${chunk} belongs to a plan of ${doc.partitionCount} partitions, ` +
            `_plan.json has ${plan.partitionCount}`,
          { runKey: this.runKey, chunk, recorded: doc.partitionCount, planned: plan.partitionCount },
        );
      }
      all.push(...doc.ranges);
      if (doc.ranges.length < RANGES_PER_CHUNK || all.length > plan.partitionCount) break;
    }
    const problem =
      coverageProblem(all, plan.partitionCount) ??
      (plan.rangesId !== undefined && listDigest(all) !== plan.rangesId
        ? `the stored ranges are not the list ${plan.rangesId} the plan was made with`
        : undefined);
    if (problem) {
      throw lost(`run ${this.runKey}: the stored plan does not cover the table: ${problem}`, {
        runKey: this.runKey,
      });
    }
    return all;
  }

  /** One chunk of the plan's ranges (both layouts), or undefined when it is not stored. */
  private async rangesChunk(
    plan: RunPlan,
    chunk: number,
  ): Promise<{ readonly ranges: readonly PartitionRange[]; readonly partitionCount?: number } | undefined> {
    if (plan.rangesId === undefined) {
      const ranges = await readJson<PartitionRange[]>(this.store, rangesKey(this.location, chunk));
      return ranges && { ranges };
    }
    return readJson<RangesChunk>(this.store, rangesKey(this.location, chunk, plan.rangesId));
  }

  /**
   * Writes `items` create-only in chunks of `perChunk` (keys from `keyOf`, documents from `wrap`);
   * returns the keys. The keys are content-addressed, so a chunk already stored holds the same
   * bytes (another run of the same plan, or an earlier attempt); one that differs is refused.
   */
  private async createChunks<T>(
    items: readonly T[],
    perChunk: number,
    keyOf: (chunk: number) => string,
    wrap: (slice: readonly T[]) => unknown,
  ): Promise<string[]> {
    const keys: string[] = [];
    for (let start = 0; start < items.length; start += perChunk) {
      const key = keyOf(start / perChunk);
      const { same } = await createJson(this.store, key, wrap(items.slice(start, start + perChunk)));
      if (!same) {
        throw mismatch(this.runKey, `${key} holds other content than its digest names`, { key });
      }
      keys.push(key);
    }
    return keys;
  }

  // --- partitions -----------------------------------------------------------------------------

  /**
   * The stats of partition `p` when it is done, else undefined; with `snapshot`, only when it was
   * read in that snapshot (a partition of a lost snapshot is read again), or when the run is
   * finished: a re-run of a run with `_SUCCESS` reads nothing again (its create-only manifest
   * states the snapshot the partitions were read in, and stays as it is).
   */
  async finishedPartition(
    p: number,
    snapshot: RunSnapshot | null = null,
  ): Promise<PartitionStats | undefined> {
    const stats = await readJson<PartitionStats>(this.store, partitionDoneKey(this.location, p));
    if (!stats) return undefined;
    return readInSnapshot(stats, snapshot) || (await this.finished()) ? stats : undefined;
  }

  /** Whether the run has `_SUCCESS` (its manifest is then decided). */
  async finished(): Promise<boolean> {
    return (await this.store.head(successKey(this.location))) !== undefined;
  }

  /**
   * The batches 0..k-1 an earlier attempt stored for partition `p`, as verified from storage
   * (heartbeat details can be stale): consecutive from batch 0, each with a readable footer and
   * its cursor span. With `snapshot` and `strict`, only batches read in that snapshot count (a
   * partition is then read wholly in one); else others count too, and `otherSnapshot` says so.
   * Objects are written whole, so every stored batch is complete.
   */
  async storedBatches(
    plan: BatchPlacement,
    p: number,
    options: { readonly snapshot: RunSnapshot | null; readonly strict: boolean } = {
      snapshot: null,
      strict: false,
    },
  ): Promise<StoredBatches> {
    const token = options.snapshot ? snapshotToken(options.snapshot) : undefined;
    let otherSnapshot = false;
    const byIndex = new Map<number, { key: string; size: number }>();
    for (const o of await this.store.list(batchPrefix(this.location, plan.compacted, p))) {
      const parsed = parseBatchKey(o.key);
      if (parsed) byIndex.set(parsed.batch, { key: o.key, size: o.size });
    }
    const files: BatchFile[] = [];
    for (let b = 0; ; b++) {
      const o = byIndex.get(b);
      if (!o) break;
      const info = await readStoredParquetInfo(this.store, o.key, o.size).catch(() => undefined);
      const meta = info?.keyValueMetadata[BATCH_METADATA_KEY];
      if (!info || meta === undefined) break;
      const span = JSON.parse(meta) as {
        cursorMin: CursorValue | null;
        cursorMax: CursorValue | null;
        snapshot?: string;
      };
      if (token !== undefined && span.snapshot !== token) {
        if (options.strict) break;
        otherSnapshot = true;
      }
      files.push({
        key: o.key,
        rows: info.rows,
        bytes: o.size,
        cursorMin: span.cursorMin,
        cursorMax: span.cursorMax,
      });
    }
    // NULL cursors come first and cannot be resumed after: start such a partition over.
    return files.at(-1)?.cursorMax === null ? { files: [], otherSnapshot: false } : { files, otherSnapshot };
  }

  /**
   * Stores batch `batch` of partition `p` (replacing what an earlier attempt wrote there): under
   * `_raw/` when the run compacts, in the run folder when the batches are its data files.
   */
  async storeBatch(plan: BatchPlacement, p: number, batch: number, body: Uint8Array): Promise<string> {
    const key = batchKey(this.location, plan.compacted, p, batch);
    await this.store.put(key, body, 'application/vnd.apache.parquet');
    return key;
  }

  /**
   * Marks a partition done: batches beyond the last one written (from an earlier attempt that
   * saw more rows) are removed first, then its marker is written create-only with the stats.
   * A marker already there decides (another run of this runKey, or a concurrent attempt,
   * finished the partition first): if it records the same output (range, rows, files), it is
   * kept as it is; if not, the terminal PgParquetPlanMismatch. Only a marker of another snapshot
   * than `options.replacing` is replaced (`consistency: "snapshot"` reads such a partition again).
   */
  async finishPartition(
    plan: BatchPlacement,
    stats: PartitionStats,
    options: { readonly replacing?: RunSnapshot | null } = {},
  ): Promise<void> {
    const p = stats.partition.index;
    const key = partitionDoneKey(this.location, p);
    const replacing = options.replacing ?? null;
    const decide = (stored: PartitionStats): 'keep' | 'replace' => {
      if (!samePartition(stored.partition, stats.partition)) {
        throw mismatch(this.runKey, `partition ${p} was finished for another range`, {
          partition: p,
          stored: stored.partition,
          range: stats.partition,
        });
      }
      if (replacing !== null && !readInSnapshot(stored, replacing)) return 'replace';
      if (sameOutput(stored, stats)) return 'keep';
      throw mismatch(
        this.runKey,
        `partition ${p} was finished by another run of this runKey with other output ` +
          `(${stored.rows} rows in ${stored.files.length} files; this run: ${stats.rows} in ${stats.files.length})`,
        {
          partition: p,
          stored: { rows: stored.rows, files: stored.files.length },
          run: { rows: stats.rows, files: stats.files.length },
        },
      );
    };
    const before = await readJson<PartitionStats>(this.store, key);
    if (before && decide(before) === 'keep') return;
    const existing = await this.store.list(batchPrefix(this.location, plan.compacted, p));
    const stale = existing
      .filter((o) => (parseBatchKey(o.key)?.batch ?? -1) >= stats.files.length)
      .map((o) => o.key);
    if (stale.length > 0) await this.store.delete(stale);
    if (before) {
      // A marker of a lost snapshot: this attempt read the partition again in the run's one.
      await this.store.put(key, jsonBytes(stats), 'application/json');
      return;
    }
    const { created, stored } = await createJson(this.store, key, stats);
    if (!created && decide(stored) === 'replace')
      await this.store.put(key, jsonBytes(stats), 'application/json');
  }

  /** The stats of every partition of the plan, in order; all of them must be done. */
  async finishedPartitions(plan: RunPlan): Promise<PartitionStats[]> {
    // Many small reads (100,000 partitions at most): concurrent, in partition order.
    return pMap(
      Array.from({ length: plan.partitionCount }, (_, index) => index),
      async (index) => {
        const stats = await this.finishedPartition(index);
        if (!stats) throw lost(`partition ${index} is not complete`, { partition: index });
        return stats;
      },
      { concurrency: STORE_READ_CONCURRENCY },
    );
  }

  /** Deletes raw batch files (after the manifest lists the data files that merged them). */
  async deleteRawFiles(keys: readonly string[]): Promise<void> {
    await this.store.delete(keys);
  }

  // --- compaction -----------------------------------------------------------------------------

  /** The stored compaction plan's totals, or undefined when compaction is not planned yet. */
  async compactionPlan(): Promise<CompactionSummary | undefined> {
    const doc = await readJson<CompactionSummary | CompactionPlanV1>(
      this.store,
      compactionKey(this.location),
    );
    if (!doc) return undefined;
    if (!isV1(doc)) return doc;
    return {
      version: 1,
      targetFileBytes: doc.targetFileBytes,
      groups: doc.groups.length,
      rows: doc.groups.reduce((s, g) => s + g.rows, 0),
    };
  }

  /**
   * Stores the groups a chunk at a time under `_compaction/<groupsId>/` (the digest of the list),
   * then `_compaction.json` create-only (its presence implies them). A compaction plan stored
   * first (another run of this runKey, an earlier attempt) decides: it is returned instead, and
   * this call's chunks, if they are another list, are deleted again.
   */
  async storeCompactionPlan(
    targetFileBytes: number,
    groups: readonly CompactionGroup[],
  ): Promise<CompactionSummary> {
    const groupsId = listDigest(groups);
    const keys = await this.createChunks(
      groups,
      GROUPS_PER_CHUNK,
      (chunk) => compactionGroupsKey(this.location, chunk, groupsId),
      (slice) => slice,
    );
    const summary: CompactionSummary = {
      version: COMPACTION_PLAN_VERSION,
      targetFileBytes,
      groups: groups.length,
      rows: groups.reduce((s, g) => s + g.rows, 0),
      groupsId,
    };
    const { created, stored } = await createJson(this.store, compactionKey(this.location), summary);
    if (created) return summary;
    if (isV1(stored) || stored.groupsId !== groupsId) await this.store.delete(keys).catch(() => undefined);
    const plan = await this.compactionPlan();
    if (!plan) throw lost(`_compaction.json of run ${this.runKey} disappeared`, { runKey: this.runKey });
    return plan;
  }

  /** Which raw files data file `n` merges (reads one chunk), or undefined when not planned. */
  async compactionGroup(n: number): Promise<CompactionGroup | undefined> {
    const doc = await readJson<CompactionSummary | CompactionPlanV1>(
      this.store,
      compactionKey(this.location),
    );
    if (!doc) return undefined;
    if (isV1(doc)) return doc.groups[n];
    const chunk = await readJson<CompactionGroup[]>(
      this.store,
      compactionGroupsKey(this.location, Math.floor(n / GROUPS_PER_CHUNK), doc.groupsId),
    );
    return chunk?.[n % GROUPS_PER_CHUNK];
  }

  /** Every group of the stored compaction plan, in order (for verification). */
  async compactionGroups(): Promise<CompactionGroup[]> {
    const doc = await readJson<CompactionSummary | CompactionPlanV1>(
      this.store,
      compactionKey(this.location),
    );
    if (!doc) throw lost(`no compaction plan stored for run ${this.runKey}`, { runKey: this.runKey });
    if (isV1(doc)) return [...doc.groups];
    const out: CompactionGroup[] = [];
    for (let chunk = 0; out.length < doc.groups; chunk++) {
      const groups = await readJson<CompactionGroup[]>(
        this.store,
        compactionGroupsKey(this.location, chunk, doc.groupsId),
      );
      if (!groups || groups.length === 0) {
        throw lost(`compaction chunk ${chunk} of run ${this.runKey} is missing`, { chunk });
      }
      out.push(...groups);
    }
    return out;
  }

  /** Key of data file `n`. */
  dataFileKey(n: number): string {
    return dataFileKey(this.location, n);
  }

  /** A raw batch file's bytes, checked against the rows its partition recorded for it. */
  async readRawFile(raw: CompactionInput): Promise<Uint8Array> {
    const bytes = await this.store.get(raw.key);
    if (!bytes) throw lost(`raw file ${raw.key} is missing`, { key: raw.key, partition: raw.partition });
    const rows = parquetRowCount(bytes);
    if (rows !== raw.rows) {
      throw lost(`raw file ${raw.key} holds ${rows} rows, ${raw.rows} were recorded`, { key: raw.key, rows });
    }
    return bytes;
  }

  /** The footer of a data file when it is done: stored with its group's row count. */
  async finishedDataFile(group: CompactionGroup): Promise<StoredFile | undefined> {
    const info = await this.storedFile(this.dataFileKey(group.index)).catch(() => undefined);
    return info?.rows === group.rows ? info : undefined;
  }

  /**
   * Stores data file `group.index` from a stream of Parquet chunks and checks its footer against
   * the group's rows; a file that does not add up is deleted again (transient: a retry rewrites it).
   */
  async storeDataFile(group: CompactionGroup, chunks: AsyncIterable<Uint8Array>): Promise<StoredFile> {
    const key = this.dataFileKey(group.index);
    const stored = await this.store.putStream(key, chunks, 'application/vnd.apache.parquet');
    return this.checkedDataFile(group, key, stored.size);
  }

  /**
   * Stores data file `group.index` as the concatenation of its raw files' row groups (concat.ts):
   * only their tails (page indexes, footer) are read here, and the store assembles the file from
   * their byte ranges (S3 copies them inside the service), so compaction moves no row-group bytes
   * through the worker. The raw footers' row counts and the stored footer are checked.
   */
  async composeDataFile(group: CompactionGroup): Promise<StoredFile> {
    const tails = await pMap(
      group.inputs,
      async (raw) => {
        const tail = await readStoredParquetTail(this.store, raw.key, raw.bytes);
        if (!tail) throw lost(`raw file ${raw.key} is missing`, { key: raw.key, partition: raw.partition });
        const rows = Number(intField(tail.meta, 3) ?? -1n);
        if (rows !== raw.rows) {
          throw lost(`raw file ${raw.key} holds ${rows} rows, ${raw.rows} were recorded`, {
            key: raw.key,
            rows,
          });
        }
        return tail;
      },
      { concurrency: 32 },
    );
    const layout = concatLayout(tails, { dropKeys: [BATCH_METADATA_KEY] });
    const key = this.dataFileKey(group.index);
    const stored = await this.store.compose(
      key,
      [
        ...layout.ranges.map((r) => ({
          copy: { key: group.inputs[r.input]!.key, start: r.start, end: r.end },
        })),
        { bytes: layout.trailer },
      ],
      'application/vnd.apache.parquet',
    );
    return this.checkedDataFile(group, key, stored.size);
  }

  /** A stored data file's footer against its group's rows; one that does not add up is deleted (transient: a retry rewrites it). */
  private async checkedDataFile(group: CompactionGroup, key: string, size: number): Promise<StoredFile> {
    const info = await readStoredParquetInfo(this.store, key, size);
    if (info?.rows !== group.rows) {
      await this.store.delete([key]);
      throw new PgParquetError(
        ErrorType.VerificationFailed,
        `data file ${key}: ${info?.rows ?? 'no'} rows stored, ${group.rows} expected from its raw files`,
        true,
        { key, stored: info?.rows ?? null, expected: group.rows },
      );
    }
    return { key, rows: info.rows, rowGroups: info.rowGroups, size };
  }

  /**
   * Stores data file 0 of a run without rows (its schema only: what a reader of an empty run
   * sees) and checks its footer.
   */
  async storeEmptyDataFile(body: Uint8Array): Promise<StoredFile> {
    const key = this.dataFileKey(0);
    await putIfChanged(this.store, key, body, 'application/vnd.apache.parquet');
    const info = await this.storedFile(key);
    if (info.rows !== 0) throw lost(`${key} holds ${info.rows} rows, none were expected`, { key });
    return info;
  }

  /** Size and footer counts of a stored Parquet file; a missing or unreadable one is lost output. */
  async storedFile(key: string): Promise<StoredFile> {
    const head = await this.store.head(key);
    const info = head ? await readStoredParquetInfo(this.store, key, head.size) : undefined;
    if (!head || !info) throw lost(`${key} is missing`, { key });
    return { key, rows: info.rows, rowGroups: info.rowGroups, size: head.size };
  }

  // --- the end --------------------------------------------------------------------------------

  /** A finished run (`_SUCCESS` stored): its manifest and the manifest's URL; else undefined. */
  async completed(): Promise<{ manifest: Manifest; manifestUrl: string } | undefined> {
    if (!(await this.store.head(successKey(this.location)))) return undefined;
    const key = manifestKey(this.location);
    const manifest = await readJson<Manifest>(this.store, key);
    if (!manifest) throw lost(`${key} is missing although _SUCCESS is stored`, { key });
    return { manifest, manifestUrl: this.store.urlOf(key) };
  }

  /**
   * Writes `_manifest.json`, then `_SUCCESS`, both create-only; returns the manifest's URL. A
   * manifest already stored with these very bytes is kept (a re-run of a finished run, or another
   * run of this runKey that finished the same plan, rewrites nothing); one with other content was
   * written by another run of this runKey with other settings: the terminal PgParquetPlanMismatch
   * naming the fields that differ, and this run writes no `_SUCCESS`.
   */
  async commitManifest(manifest: Manifest): Promise<string> {
    const key = manifestKey(this.location);
    const { same, stored } = await createJson(this.store, key, manifest);
    if (!same) {
      const differ = Object.keys({ ...stored, ...manifest }).filter(
        (k) =>
          JSON.stringify((stored as unknown as Record<string, unknown>)[k]) !==
          JSON.stringify((manifest as unknown as Record<string, unknown>)[k]),
      );
      throw mismatch(
        this.runKey,
        `another run of this runKey stored a manifest that differs in ${differ.join(', ')}`,
        { key, differ },
      );
    }
    await createBytes(this.store, successKey(this.location), new Uint8Array(0), 'text/plain');
    return this.store.urlOf(key);
  }

  /** The table's `_latest.json`, or undefined when no run of the table has published one. */
  async latest(): Promise<LatestRun | undefined> {
    return readJson<LatestRun>(this.store, latestKey(this.location.table));
  }

  /**
   * Points the table's `_latest.json` at this run (after its `_SUCCESS`), unless it already names
   * a run whose runKey sorts after this one (a re-run or backfill of an older runKey does not
   * move it back). Returns what `_latest.json` holds afterwards.
   */
  async publishLatest(manifest: Manifest): Promise<LatestRun> {
    const current = await this.latest();
    if (current && current.runKey !== this.runKey && compareKeys(current.runKey, this.runKey) > 0) {
      return current;
    }
    const doc: LatestRun = {
      version: LATEST_RUN_VERSION,
      table: this.table,
      runKey: this.runKey,
      runPrefix: runPrefix(this.location),
      manifestKey: manifestKey(this.location),
      successKey: successKey(this.location),
      extractedAt: manifest.extractedAt,
      totals: manifest.totals,
    };
    await writeJsonIfChanged(this.store, latestKey(this.location.table), doc);
    return doc;
  }

  /**
   * Retention: deletes the successful runs of the table beyond the newest `keepRuns` (by runKey,
   * in key order), never this run and never a run without `_SUCCESS` (it may still be running, or
   * be resumed). Of each run it deletes only the files its manifest lists and its `_` documents.
   * A deletion an earlier attempt began (`_DELETING`) is finished. Returns the runKeys deleted.
   */
  async deleteOlderRuns(keepRuns: number): Promise<string[]> {
    const runKeys = await RunStore.runKeys(this.store, this.location.table);
    const states = await pMap(
      runKeys.filter((k) => k !== this.runKey),
      async (runKey) => {
        const other = this.sibling(runKey);
        const [success, deleting] = await Promise.all([
          this.store.head(successKey(other.location)),
          this.store.head(deletingKey(other.location)),
        ]);
        return { other, success: success !== undefined, deleting: deleting !== undefined };
      },
      { concurrency: STORE_READ_CONCURRENCY },
    );
    // The newest `keepRuns` successful runs, this one counted, are kept; this one is kept anyway
    // (a backfill of an older runKey is deleted by the next newer run's retention).
    const kept = new Set(
      [this.runKey, ...states.filter((s) => s.success && !s.deleting).map((s) => s.other.runKey)]
        .sort((a, b) => compareKeys(b, a))
        .slice(0, keepRuns),
    );
    const doomed = states.filter((s) => s.deleting || (s.success && !kept.has(s.other.runKey)));
    const deleted: string[] = [];
    for (const { other } of doomed) {
      await other.deleteRun();
      deleted.push(other.runKey);
    }
    return deleted.sort(compareKeys);
  }

  /** The run of the same table under another runKey. */
  private sibling(runKey: string): RunStore {
    return new RunStore(this.store, { table: this.location.table, runKey });
  }

  /** Deletes this (successful) run: see {@link deleteOlderRuns}. */
  private async deleteRun(): Promise<void> {
    const prefix = runPrefix(this.location);
    const marker = deletingKey(this.location);
    const manifestAt = manifestKey(this.location);
    await this.store.put(marker, new Uint8Array(0), 'text/plain');
    // Readers that wait for `_SUCCESS` stop seeing the run before any of its files go.
    await this.store.delete([successKey(this.location)]);
    const manifest = await readJson<Manifest>(this.store, manifestAt);
    const listed = (manifest?.files ?? []).map((f) => f.key).filter((k) => k.startsWith(prefix));
    if (listed.length > 0) await this.store.delete(listed);
    const documents = (await this.store.list(`${prefix}_`))
      .map((o) => o.key)
      .filter((k) => k !== marker && k !== manifestAt);
    if (documents.length > 0) await this.store.delete(documents);
    await this.store.delete([manifestAt]);
    await this.store.delete([marker]);
  }
}

/** Where a run's batches go: what {@link RunStore} needs of its plan (`compacted`). */
export interface BatchPlacement {
  /** Compaction merges the batches (then they are staged under `_raw/`). */
  readonly compacted: boolean;
}

/** A stored Parquet file as its footer and size describe it. */
export interface StoredFile {
  readonly key: string;
  readonly rows: number;
  readonly rowGroups: number;
  readonly size: number;
}

function isV1(doc: CompactionSummary | CompactionPlanV1): doc is CompactionPlanV1 {
  return Array.isArray(doc.groups);
}

/**
 * Digest of a list as stored (its JSON): names a content-addressed chunk folder. 128 bits of
 * SHA-256, so two different plans of one runKey never share a folder.
 */
function listDigest(items: readonly unknown[]): string {
  return createHash('sha256').update(jsonBytes(items)).digest('hex').slice(0, 32);
}

/**
 * Whether two markers of one partition record the same output: rows and files (key, rows, cursor
 * span). Where it was read (`readIn`) may differ: two runs read in their own snapshots.
 */
function sameOutput(a: PartitionStats, b: PartitionStats): boolean {
  const files = (s: PartitionStats) =>
    JSON.stringify(s.files.map((f) => [f.key, f.rows, f.cursorMin, f.cursorMax]));
  return a.sourceRows === b.sourceRows && a.rows === b.rows && files(a) === files(b);
}

/** Another run of this runKey decided otherwise: terminal, the run needs its own runKey. */
function mismatch(runKey: string, message: string, details: Record<string, unknown>): PgParquetError {
  return new PgParquetError(
    ErrorType.PlanMismatch,
    `run ${runKey}: ${message}; accepted: the settings of the run that stored it, or a new runKey`,
    false,
    { runKey, ...details },
  );
}

/** Stored state lost between the phases of a run: re-running cannot fix it, so it is terminal. */
function lost(message: string, details: Record<string, unknown>): PgParquetError {
  return new PgParquetError(ErrorType.VerificationFailed, message, false, details);
}
