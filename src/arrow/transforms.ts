/**
 * Per-run constant columns appended to every batch: `_extracted_at` (the run's start time) and
 * `_extraction_id` (the runKey). Both are the same for every attempt of a run, so a retried
 * batch encodes to the same bytes. The decoder adds them as it cuts each batch (see
 * `BatchColumns` in column-buffers.ts), so batches leave it in their final schema.
 */
import {
  Field,
  makeData,
  TimestampMicrosecond,
  TimestampMillisecond,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { TimestampUnit } from '../contract/export-input.js';

/** The metadata columns to add (a null name leaves the column out). */
export interface MetadataColumns {
  readonly extractedAtColumn: string | null;
  readonly extractionIdColumn: string | null;
  readonly timestampUnit: TimestampUnit;
  /** ISO instant of `_extracted_at`. */
  readonly extractedAt: string;
  /** Value of `_extraction_id`. */
  readonly extractionId: string;
}

/** Fields appended to the source schema, in order. */
export function metadataFields(m: MetadataColumns): Field<DataType>[] {
  const fields: Field<DataType>[] = [];
  if (m.extractedAtColumn !== null) {
    const type = m.timestampUnit === 'ms' ? new TimestampMillisecond('UTC') : new TimestampMicrosecond('UTC');
    fields.push(new Field(m.extractedAtColumn, type, false));
  }
  if (m.extractionIdColumn !== null) fields.push(new Field(m.extractionIdColumn, new Utf8(), false));
  return fields;
}

/** The metadata columns' data for `n` rows, in the order of {@link metadataFields}. */
export function metadataColumnData(m: MetadataColumns, n: number): Data[] {
  return metadataFields(m).map((f) =>
    f.name === m.extractedAtColumn ? timestampColumn(f.type, m, n) : utf8Constant(m.extractionId, n),
  );
}

function timestampColumn(type: DataType, m: MetadataColumns, n: number): Data {
  const ms = Date.parse(m.extractedAt);
  if (Number.isNaN(ms)) throw new RangeError(`extractedAt is not an ISO instant: ${m.extractedAt}`);
  const value = m.timestampUnit === 'ms' ? BigInt(ms) : BigInt(ms) * 1000n;
  const data = new BigInt64Array(n).fill(value);
  return makeData({ type: type as TimestampMicrosecond, length: n, nullCount: 0, data });
}

function utf8Constant(value: string, n: number): Data {
  const bytes = new TextEncoder().encode(value);
  const width = bytes.length;
  const data = new Uint8Array(width * n);
  const offsets = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) offsets[i] = i * width;
  // The value once, then doubling copies: a few native copies instead of one call per row.
  if (n > 0) data.set(bytes, 0);
  for (let filled = width; filled > 0 && filled < data.length; filled *= 2) {
    data.copyWithin(filled, 0, Math.min(filled, data.length - filled));
  }
  return makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data });
}
