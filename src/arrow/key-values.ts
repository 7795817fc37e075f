/**
 * A keyset cursor's value in one row of a decoded batch (src/postgres/cursor-key.ts): per key
 * column the text PostgreSQL would print, read from the batch's Arrow buffers. Only for columns
 * whose Arrow value is the exact PostgreSQL value (see {@link exactKeyColumn}): the value a
 * resumed partition continues after must be the row's real key.
 */
import type { RecordBatch } from 'apache-arrow';
import type { ColumnSpec } from './column-spec.js';

const TEXT = new TextDecoder();

/**
 * Whether a column's Arrow value gives back its key value exactly: integers, text, uuid, numeric
 * as text, and numeric as decimal with the column's own scale (not an unconstrained numeric
 * rounded to a stated scale).
 */
export function exactKeyColumn(spec: ColumnSpec): boolean {
  switch (spec.kind) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'text':
    case 'uuid':
    case 'numeric-string':
      return true;
    case 'numeric-decimal':
      return /^numeric\(\d+,\d+\)$/.test(spec.pgType);
    default:
      return false;
  }
}

/** A Decimal128 value (four little-endian 32-bit words) with `scale` digits after the point. */
function decimalText(words: Uint32Array, at: number, scale: number): string {
  let v = 0n;
  for (let w = 3; w >= 0; w--) v = (v << 32n) | BigInt(words[at + w]!);
  if (v >= 1n << 127n) v -= 1n << 128n;
  const negative = v < 0n;
  const digits = (negative ? -v : v).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Row `row`'s value of column `index` as PostgreSQL's text, or null when NULL. */
function valueText(batch: RecordBatch, index: number, spec: ColumnSpec, row: number): string | null {
  const data = batch.getChildAt(index)!.data[0]!;
  const i = data.offset + row;
  const bitmap = data.nullBitmap;
  if (data.nullCount > 0 && bitmap && bitmap.length > 0 && (bitmap[i >> 3]! & (1 << (i & 7))) === 0)
    return null;
  switch (spec.kind) {
    case 'int2':
    case 'int4':
    case 'int8':
      return String((data.values as ArrayLike<number | bigint>)[i]);
    case 'numeric-decimal':
      return decimalText(data.values as Uint32Array, 4 * i, spec.scale ?? 0);
    default: {
      const offsets = data.valueOffsets as Int32Array;
      return TEXT.decode((data.values as Uint8Array).subarray(offsets[i], offsets[i + 1]));
    }
  }
}

/**
 * The keyset value of row `row` (one text per key column, `indexes` into the batch's columns),
 * or null when a key column is NULL there (NULL keys cannot be resumed after).
 */
export function keyValueAt(
  batch: RecordBatch,
  indexes: readonly number[],
  specs: readonly ColumnSpec[],
  row: number,
): string[] | null {
  const out: string[] = [];
  for (const index of indexes) {
    const v = valueText(batch, index, specs[index]!, row);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}
