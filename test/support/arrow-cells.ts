/**
 * Reading decoded Arrow batches back as plain values, straight from the Arrow buffers (not through
 * apache-arrow's own getters, which throw on PostgreSQL's extreme timestamps): bigint for 64- and
 * 128-bit values, raw days for dates, hex for binary, arrays for lists, null for NULL.
 */
import { DataType, type Data, type RecordBatch } from 'apache-arrow';

/** One cell of `data` at row `i`. */
export function cell(data: Data, i: number): unknown {
  if (!data.getValid(i)) return null;
  const t = data.type;
  const j = data.offset + i;
  if (DataType.isList(t)) {
    const o = data.valueOffsets;
    const out: unknown[] = [];
    for (let k = o[j]!; k < o[j + 1]!; k++) out.push(cell(data.children[0]!, k));
    return out;
  }
  if (DataType.isUtf8(t) || DataType.isBinary(t)) {
    const o = data.valueOffsets;
    const bytes = (data.values as Uint8Array).subarray(o[j], o[j + 1]);
    return DataType.isUtf8(t)
      ? new TextDecoder('utf-8', { fatal: true }).decode(bytes)
      : Buffer.from(bytes).toString('hex');
  }
  if (DataType.isDecimal(t)) {
    const w = (data.values as Uint32Array).subarray(4 * j, 4 * j + 4);
    const u = (BigInt(w[3]!) << 96n) | (BigInt(w[2]!) << 64n) | (BigInt(w[1]!) << 32n) | BigInt(w[0]!);
    return BigInt.asIntN(128, u);
  }
  if (DataType.isBool(t)) return (((data.values as Uint8Array)[j >> 3]! >> (j & 7)) & 1) === 1;
  return (data.values as ArrayLike<unknown>)[j];
}

/** The batches' rows as objects keyed by column name. */
export function rowsOf(batches: readonly RecordBatch[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.numRows; i++) {
      const row: Record<string, unknown> = {};
      b.schema.fields.forEach((f, c) => (row[f.name] = cell(b.getChildAt(c)!.data[0]!, i)));
      out.push(row);
    }
  }
  return out;
}
