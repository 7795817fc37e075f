/**
 * Compaction planning (pure): consecutive raw batch files, in key order, grouped greedily into
 * data files of about `targetFileBytes`. Deterministic, so a resumed compaction rebuilds the
 * same groups.
 */
import type { CursorValue } from '../postgres/cursor-key.js';

/** One raw file as input of compaction. */
export interface CompactionInput {
  readonly key: string;
  readonly partition: number;
  readonly rows: number;
  readonly bytes: number;
  readonly cursorMin: CursorValue | null;
  readonly cursorMax: CursorValue | null;
}

/** One data file to write: its number and the raw files it merges, in order. */
export interface CompactionGroup {
  readonly index: number;
  readonly inputs: readonly CompactionInput[];
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Groups inputs (already in key order) so that each group's raw bytes stay at or under
 * `targetFileBytes`, except a single input larger than the target, which gets a group alone.
 * Empty input gives no group.
 */
export function planCompactionGroups(
  inputs: readonly CompactionInput[],
  targetFileBytes: number,
): CompactionGroup[] {
  const groups: CompactionGroup[] = [];
  let current: CompactionInput[] = [];
  let bytes = 0;
  const close = () => {
    if (current.length === 0) return;
    groups.push({
      index: groups.length,
      inputs: current,
      rows: current.reduce((s, f) => s + f.rows, 0),
      bytes,
    });
    current = [];
    bytes = 0;
  };
  for (const f of inputs) {
    if (current.length > 0 && bytes + f.bytes > targetFileBytes) close();
    current.push(f);
    bytes += f.bytes;
  }
  close();
  return groups;
}

/**
 * Smallest and largest cursor over a group's inputs: integers compared as integers; keyset
 * values (which only the database can compare) taken from the first and last input, which are
 * in key order.
 */
export function cursorSpan(inputs: readonly CompactionInput[]): {
  min: CursorValue | null;
  max: CursorValue | null;
} {
  const keyset = inputs.some((f) => Array.isArray(f.cursorMin) || Array.isArray(f.cursorMax));
  if (keyset) {
    return {
      min: inputs.find((f) => f.cursorMin !== null)?.cursorMin ?? null,
      max: inputs.findLast((f) => f.cursorMax !== null)?.cursorMax ?? null,
    };
  }
  let min: bigint | null = null;
  let max: bigint | null = null;
  for (const f of inputs) {
    if (f.cursorMin !== null) {
      const v = BigInt(f.cursorMin as string);
      if (min === null || v < min) min = v;
    }
    if (f.cursorMax !== null) {
      const v = BigInt(f.cursorMax as string);
      if (max === null || v > max) max = v;
    }
  }
  return { min: min === null ? null : min.toString(), max: max === null ? null : max.toString() };
}
