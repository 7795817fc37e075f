/**
 * Extraction activity body: one partition (cursor range) → COPY binary → Arrow batches →
 * Parquet files under deterministic keys, then a `_partitions/part=<p>.json` marker with the partition's
 * stats. Idempotent: a finished partition is skipped, an unfinished one is rewritten under the
 * same keys with the same bytes.
 */
import type pg from 'pg';
import { CopyOutStream } from '../postgres/copy-out.js';
import type { ColumnSpec } from '../arrow/column-spec.js';
import type { InfinityMode, TypeOptions } from '../contract/type-options.js';
import type { MetadataColumns } from '../arrow/transforms.js';
import { ErrorType, PgParquetError } from '../contract/errors.js';
import type { Compression } from '../contract/compression.js';
import type { TimestampUnit } from '../contract/export-input.js';
import type { PartitionRange } from '../plan/partitions.js';
import { connect, resolveConnection } from '../postgres/connection.js';
import { CopyBinaryDecoder, type DecodedBatch } from '../postgres/copy-decoder.js';
import { copySql, SESSION_SETTINGS_SQL, type CursorRange } from '../postgres/copy-query.js';
import type { CursorValue } from '../postgres/cursor-key.js';
import { exactKeyColumn, keyValueAt } from '../arrow/key-values.js';
import { beginRead } from '../postgres/snapshot.js';
import type { ConsistencyPoint, RunSnapshot } from '../contract/snapshot.js';
import { whereDataError } from '../postgres/sqlstate.js';
import type { ParquetEncoder } from '../parquet/encoder.js';
import { noDictionaryColumns } from '../parquet/column-encoding.js';
import { sharedEncoder } from '../parquet/encoder-pool.js';
import { parquetRowCount } from '../parquet/footer.js';
import { toIpcStream, type ParquetWriteOptions } from '../parquet/writer.js';
import { logicalTypeAnnotations } from '../parquet/logical-type-annotations.js';
import type { BatchFile } from '../run/documents.js';
import { batchMetadata, RunStore } from '../run/run-store.js';
import { planWhereSql } from '../run/run-plan.js';
import type { ObjectStore } from '../storage/object-store.js';
import { displayName, type QualifiedName } from '../contract/table-name.js';
import { OrderedCommits } from './ordered-commits.js';
import { releaseBuffer } from '../arrow/release-buffer.js';

/** Input of one extraction activity. */
export interface ExtractPartitionInput {
  readonly connection: string;
  readonly table: QualifiedName;
  readonly destination: string;
  readonly runKey: string;
  /** The range to extract. Columns, cursor and filter come from the run's stored `_plan.json`. */
  readonly partition: PartitionRange;
  readonly batch: { readonly rows: number; readonly bytes: number };
  readonly transform: {
    readonly extractedAtColumn: string | null;
    readonly extractionIdColumn: string | null;
    readonly timestampUnit: TimestampUnit;
    /** ±infinity in date/timestamp columns (default "error"); the plan made such columns nullable for "null". */
    readonly infinity?: InfinityMode;
  };
  readonly parquet: { readonly compression: Compression; readonly rowGroupRows: number };
  /**
   * True when the raw files are read only by this run's compaction and deleted afterwards
   * (compaction on, keepRaw off): they are then written in the fastest format compaction reads
   * (see INTERMEDIATE_FORMAT), which not every engine reads. False (the default) writes portable
   * v1 pages with `parquet.compression`.
   */
  readonly intermediate?: boolean;
  /**
   * The run's snapshot (`consistency: "snapshot"`): the partition is read in it, a marker or a
   * stored batch of another snapshot does not count, and an ended snapshot fails with the
   * terminal `PgParquetSnapshotLost`. Null or absent: the partition reads a snapshot of its own.
   */
  readonly snapshot?: RunSnapshot | null;
  /**
   * `consistency: "snapshot"` as asked for explicitly: only what was read in `snapshot` counts
   * (a partition finished or begun in a lost one is read again). False (the default): finished
   * partitions and stored batches of an earlier snapshot are kept, and their marker says so.
   */
  readonly strictSnapshot?: boolean;
}

/** Result of the extraction activity. */
export interface ExtractPartitionResult {
  readonly partition: number;
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  /** True when the partition was already complete and nothing was read. */
  readonly skipped: boolean;
  /** Batches found in storage from an earlier attempt and kept (not rewritten). */
  readonly resumedBatches: number;
}

/** Progress reported after each durably stored batch (Temporal heartbeat details). */
interface ExtractProgress {
  readonly partition: number;
  /** Index of the next batch to write. */
  readonly batch: number;
  readonly lastCursor: CursorValue | null;
  readonly rows: number;
  readonly bytes: number;
}

/** How the activity adapter talks to Temporal. */
export interface ExtractContext {
  heartbeat(progress: ExtractProgress): void;
  readonly signal: AbortSignal;
}

/** Dependencies injected by `createActivities`. */
export interface ExtractDeps {
  readonly resolveConnection?: typeof resolveConnection;
  readonly openStore: (url: string) => ObjectStore;
  /** Where Parquet encoding runs (default: the process-wide encoder thread pool). */
  readonly encoder?: ParquetEncoder;
}

/**
 * Batches of one partition being encoded or waiting to be stored while the next one is decoded.
 * Two keep an encoder thread busy per partition; memory grows by one encoded batch per step.
 */
const BATCHES_IN_FLIGHT = 2;

/**
 * How raw files that only compaction reads are written: data page v2 and LZ4, which together
 * encode and decode ~40% faster than v1 pages with ZSTD (files ~1.8× larger, deleted after
 * the manifest). Measured on 250k rows of the bench table: write + read 169 ms instead of 279.
 */
const INTERMEDIATE_FORMAT = { compression: 'lz4', dataPageVersion: 2 } as const;

/** A batch after encoding: what its commit stores and records. */
interface EncodedBatch {
  readonly rows: number;
  readonly cursorFirst: CursorValue | null;
  readonly cursorLast: CursorValue | null;
  readonly body: Uint8Array;
}

/** Runs the extraction of one partition. */
export async function extractPartition(
  input: ExtractPartitionInput,
  ctx: ExtractContext,
  deps: ExtractDeps,
): Promise<ExtractPartitionResult> {
  // First: the encoder threads load parquet-wasm while the plan is read and COPY starts.
  const encoder = deps.encoder ?? sharedEncoder();
  const run = RunStore.open(deps.openStore(input.destination), input.table, input.runKey);
  const p = input.partition.index;
  const snapshot = input.snapshot ?? null;
  const strict = input.strictSnapshot ?? false;
  const done = await run.finishedPartition(p, strict ? snapshot : null);
  if (done) {
    return {
      partition: p,
      rows: done.rows,
      bytes: done.bytes,
      files: done.files.length,
      skipped: true,
      resumedBatches: 0,
    };
  }

  const plan = await run.requirePlan();
  if (plan.cursorKind === 'ctid' && (snapshot === null || !strict)) {
    // Rows move between pages when they are updated: page ranges are exact only inside one snapshot.
    throw new PgParquetError(
      ErrorType.PlanMismatch,
      `partition ${p} of ${run.table} is a ctid page range, which is exact only inside the run's snapshot; ` +
        'accepted: consistency: "snapshot"',
      false,
      { field: 'consistency', partition: p },
    );
  }
  const columns: readonly ColumnSpec[] = plan.columns;
  const meta: MetadataColumns = {
    ...input.transform,
    extractedAt: plan.extractedAt,
    extractionId: input.runKey,
  };
  const opts: TypeOptions = {
    timestampUnit: input.transform.timestampUnit,
    infinity: input.transform.infinity ?? 'error',
  };
  const cursorIndex = columns.findIndex((c) => c.name === plan.cursor);
  const decoder = new CopyBinaryDecoder(columns, {
    batchRows: input.batch.rows,
    batchBytes: input.batch.bytes,
    cursorColumn: cursorIndex,
    typeOptions: opts,
    table: displayName(input.table),
    metadata: meta,
  });

  // A keyset cursor's columns in the batch, when each is exported and exact (else no resume).
  const keyIndexes = (plan.cursorKey ?? []).map((k) => columns.findIndex((c) => c.name === k.name));
  const keyReadable = keyIndexes.every((i) => i >= 0 && exactKeyColumn(columns[i]!));
  // A non-unique cursor resumes after (cursor, tie-breaker…) when the tie-breaker is the primary
  // key, exported and exact: its batches then record that pair as their span.
  const ties = plan.cursorUnique || plan.tieBreaker?.includes('ctid') ? [] : (plan.tieBreaker ?? []);
  const tieIndexes = ties.map((n) => columns.findIndex((c) => c.name === n));
  const tieKey =
    ties.length > 0 && tieIndexes.every((i) => i >= 0 && exactKeyColumn(columns[i]!))
      ? tieIndexes.map((i) => ({
          name: columns[i]!.name,
          pgType: columns[i]!.pgType,
          collation: null,
          nullable: false,
        }))
      : null;
  const resumable =
    (plan.cursorUnique || tieKey !== null) && (plan.cursorKey ? keyReadable : cursorIndex >= 0);
  // Resume: batches an earlier attempt stored are kept; extraction continues after the last one.
  const stored = resumable
    ? await run.storedBatches(plan, p, { snapshot, strict })
    : { files: [], otherSnapshot: false };
  const files: BatchFile[] = stored.files;
  const resumedBatches = files.length;
  const resumedRows = files.reduce((s, f) => s + f.rows, 0);
  let rows = resumedRows;
  let bytes = files.reduce((s, f) => s + f.bytes, 0);
  const lastStored = files.at(-1)?.cursorMax;
  const range = resumeRange(input.partition, lastStored ?? null);
  const exhausted =
    typeof range.lo === 'string' && typeof range.hi === 'string' && BigInt(range.lo) >= BigInt(range.hi);
  const noDictionary = noDictionaryColumns(columns, plan.cursorUnique ? plan.cursor : null);
  // UUID / JSON logical types (transform.uuidAs / jsonAs): the encoder sees only IPC bytes.
  const logicalTypes = logicalTypeAnnotations(decoder.schema);
  /** Starts encoding a batch (on an encoder thread); only what the commit needs is kept. */
  const encodeBatch = (decoded: DecodedBatch): Promise<EncodedBatch> => {
    const { rows: decodedRows } = decoded;
    // Read before release: the batch's buffers are reused for the next one.
    const cursorOf = (row: number, integerForm: string | null): CursorValue | null => {
      const cursor = plan.cursorKey
        ? keyReadable
          ? keyValueAt(decoded.batch, keyIndexes, columns, row)
          : null
        : integerForm;
      if (cursor === null || tieKey === null) return cursor;
      const tie = keyValueAt(decoded.batch, tieIndexes, columns, row);
      return tie === null ? null : [...(typeof cursor === 'string' ? [cursor] : cursor), ...tie];
    };
    const cursorFirst = cursorOf(0, decoded.cursorFirst);
    const cursorLast = cursorOf(decodedRows - 1, decoded.cursorLast);
    const ipc = toIpcStream(decoder.schema, [decoded.batch]);
    // The batch is copied into the IPC stream: its buffers can hold the next batch.
    decoder.release(decoded);
    const opts: ParquetWriteOptions = {
      ...input.parquet,
      ...(input.intermediate ? INTERMEDIATE_FORMAT : {}),
      noDictionary,
      logicalTypes,
      metadata: batchMetadata(cursorFirst, cursorLast, snapshot),
    };
    return encoder.encode(ipc, opts).then((body) => ({ rows: decodedRows, cursorFirst, cursorLast, body }));
  };
  /** Stores one encoded batch; batches are committed one at a time, in order. */
  const commitBatch = async (encoded: EncodedBatch): Promise<void> => {
    const { body } = encoded;
    const stored = parquetRowCount(body);
    if (stored !== encoded.rows) {
      throw new PgParquetError(
        ErrorType.VerificationFailed,
        `Parquet file for partition ${p} batch ${files.length} holds ${stored} rows, ${encoded.rows} were decoded`,
        true,
        { partition: p, batch: files.length, stored, decoded: encoded.rows },
      );
    }
    const key = await run.storeBatch(plan, p, files.length, body);
    files.push({
      key,
      rows: encoded.rows,
      bytes: body.length,
      cursorMin: encoded.cursorFirst,
      cursorMax: encoded.cursorLast,
    });
    rows += encoded.rows;
    bytes += body.length;
    // Stored and counted: its memory goes back now, not at the next full collection.
    releaseBuffer(body);
    ctx.heartbeat({ partition: p, batch: files.length, lastCursor: encoded.cursorLast, rows, bytes });
    // With the inline encoder, encoding blocks this thread: give heartbeats and cancellation a turn.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const commits = new OrderedCommits(BATCHES_IN_FLIGHT, commitBatch);
  /**
   * Sends a decoded batch down the pipeline: it waits for the encoder's admission, then is
   * encoded and committed in order. Until admitted the batch stays in the decoder's buffers and
   * decoding waits (the decoder is not asked for more), which pauses COPY: the worker's
   * partitions together hold no more IPC streams than the encoder has room for.
   */
  const enqueue = async (decoded: DecodedBatch): Promise<void> => {
    const done = await encoder.admit();
    let encoding: Promise<EncodedBatch>;
    try {
      encoding = encodeBatch(decoded);
    } catch (err) {
      done();
      throw err;
    }
    void encoding.then(done, done);
    await commits.add(encoding);
  };

  const config = (deps.resolveConnection ?? resolveConnection)(input.connection);
  const client = await connect(config);
  let sourceRows = 0;
  let readIn: ConsistencyPoint | undefined;
  const pulse = setInterval(
    () =>
      ctx.heartbeat({
        partition: p,
        batch: files.length,
        lastCursor: files.at(-1)?.cursorMax ?? null,
        rows,
        bytes,
      }),
    2_000,
  );
  const onAbort = () => void cancelBackend(client, config);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    readIn = await beginRead(client, snapshot?.id ?? null);
    await client.query(SESSION_SETTINGS_SQL);
    const sql = copySql({
      schema: input.table.schema,
      table: input.table.name,
      cursor: plan.cursor,
      cursorKind: plan.cursorKind,
      key: plan.cursorKey ?? null,
      tieBreaker: plan.tieBreaker ?? null,
      tieKey,
      columns,
      where: planWhereSql(plan),
      watermark: plan.watermark ?? null,
      range,
      cursorNullable: columns[cursorIndex]?.nullable ?? true,
    });
    if (!exhausted) {
      const stream = client.query(new CopyOutStream(sql));
      // Decoding (here), encoding (encoder threads) and storing (in order) overlap; `enqueue`
      // waits for admission and while BATCHES_IN_FLIGHT batches are pending, pausing COPY.
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (const decoded of decoder.decode(chunk)) await enqueue(decoded);
        if (ctx.signal.aborted) throw ctx.signal.reason;
      }
      const last = decoder.finish();
      if (last) await enqueue(last);
      await commits.drain();
      sourceRows = stream.rowCount;
    }
    await client.query('COMMIT');
  } catch (err) {
    // A filter that fails on a row (division by zero, a bad cast) fails on every attempt.
    throw whereDataError(err, plan.where) ?? err;
  } finally {
    // Batches already encoded are still stored (they are complete) before the attempt ends.
    await commits.settle();
    decoder.dispose();
    clearInterval(pulse);
    ctx.signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
  // Rows of earlier attempts count as sent: each of their batches was checked when it was stored.
  sourceRows += resumedRows;
  if (sourceRows !== rows || decoder.rowsDecoded + resumedRows !== rows) {
    throw new PgParquetError(
      ErrorType.VerificationFailed,
      `partition ${p} of ${run.table}: PostgreSQL sent ${sourceRows} rows, ${decoder.rowsDecoded} were decoded, ${rows} stored`,
      true,
      { partition: p, sourceRows, decoded: decoder.rowsDecoded, stored: rows },
    );
  }
  await run.finishPartition(
    plan,
    {
      partition: input.partition,
      sourceRows,
      rows,
      bytes,
      files,
      readIn: snapshot
        ? { ...snapshot.point, snapshotId: snapshot.id, mixed: stored.otherSnapshot }
        : { ...readIn, snapshotId: null, mixed: false },
    },
    // Strict: a marker of a lost snapshot was not counted above, and is replaced by this one.
    { replacing: strict ? snapshot : null },
  );
  return { partition: p, rows, bytes, files: files.length, skipped: false, resumedBatches };
}

/**
 * The rest of a partition after its last stored batch: integer-form cursors from `last + 1`,
 * keyset cursors after the last key (`key > last`, exact whatever the type); the whole
 * partition when nothing was stored.
 */
function resumeRange(partition: PartitionRange, last: CursorValue | null): CursorRange {
  if (last === null) return partition;
  if (typeof last !== 'string') return { lo: null, after: last, hi: partition.hi, includesNulls: false };
  return { lo: (BigInt(last) + 1n).toString(), hi: partition.hi, includesNulls: false };
}

/** Destroying a COPY stream does not stop the server: cancel the backend from a second session. */
async function cancelBackend(client: pg.Client, config: pg.ClientConfig): Promise<void> {
  const pid = (client as unknown as { processID?: number }).processID;
  if (!pid) return;
  const other = await connect(config).catch(() => undefined);
  if (!other) return;
  try {
    await other.query('SELECT pg_cancel_backend($1)', [pid]);
  } finally {
    await other.end().catch(() => undefined);
  }
}
