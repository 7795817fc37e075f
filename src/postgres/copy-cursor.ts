/**
 * Cursor values in their integer form (see `DecodedBatch` in copy-decoder.ts): from a built
 * column (a batch's first and last row, for the resume point) or straight from a row's wire bytes
 * (for the message of a value that failed before its column held it).
 */
import type { DecoderKind } from '../arrow/column-spec.js';
import {
  INT32_MAX,
  K_DATE,
  K_INT2,
  K_INT4,
  K_INT8,
  K_TS_MS,
  K_TS_US,
  type Column,
} from '../arrow/column-buffers.js';
import { DATE_EPOCH_DAYS, INT32_MIN, TS_EPOCH_US } from './copy-values.js';

/** Lo/hi words of a signed 64-bit integer → decimal text. */
function int64Text(lo: number, hi: number): string {
  return ((BigInt(hi) << 32n) + BigInt(lo >>> 0)).toString();
}

/** Row `i`'s value of a cursor-capable column in the cursor's integer form, or null. */
export function cursorAt(col: Column, i: number): string | null {
  if (col.nulls !== null && (col.nulls[i >> 3]! & (1 << (i & 7))) !== 0) return null;
  // A clamped ±infinity is not the row's real cursor value: resuming after it would repeat rows.
  if ((i === 0 && col.clampedFirst) || col.clampedLast === i) return null;
  switch (col.kind) {
    case K_INT2:
      return String(col.i16[i]);
    case K_INT4:
    case K_DATE:
      return String(col.i32[i]);
    case K_INT8:
    case K_TS_US:
      return int64Text(col.i32[2 * i]!, col.i32[2 * i + 1]!);
    case K_TS_MS: {
      // Stored in ms; the cursor keeps µs, from the raw words of the first/last value.
      const first = i === 0;
      const raw =
        (BigInt(first ? col.rawFirstHi : col.rawLastHi) << 32n) +
        BigInt(first ? col.rawFirstLo : col.rawLastLo);
      return (raw + TS_EPOCH_US).toString();
    }
    default:
      return null;
  }
}

/** A cursor field straight from the wire, in the cursor's integer form (see `DecodedBatch`). */
export function rawCursorText(kind: DecoderKind, view: DataView, pos: number, len: number): string | null {
  switch (kind) {
    case 'int2':
      return len === 2 ? String(view.getInt16(pos)) : null;
    case 'int4':
      return len === 4 ? String(view.getInt32(pos)) : null;
    case 'int8':
      return len === 8 ? view.getBigInt64(pos).toString() : null;
    case 'date': {
      if (len !== 4) return null;
      const v = view.getInt32(pos);
      if (v === INT32_MAX || v === INT32_MIN) return v > 0 ? 'infinity' : '-infinity';
      return String(v + DATE_EPOCH_DAYS);
    }
    case 'timestamp':
    case 'timestamptz': {
      if (len !== 8) return null;
      const v = view.getBigInt64(pos);
      if (v === 0x7fffffffffffffffn || v === -0x8000000000000000n) return v > 0n ? 'infinity' : '-infinity';
      return (v + TS_EPOCH_US).toString();
    }
    default:
      return null;
  }
}
