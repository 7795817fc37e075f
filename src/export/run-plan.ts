/** The persisted plan of one run (`_plan.json`): what re-runs of the same runKey must reuse. */
import type { ColumnSpec } from '../arrow/column-spec.js';
import type { PartitionRange } from '../plan/partitions.js';
import type { QualifiedName } from '../table-name.js';

export const RUN_PLAN_VERSION = 1;

/** Everything that fixes the output of a run: re-running the runKey reuses it as stored. */
export interface RunPlan {
  readonly version: number;
  readonly table: QualifiedName;
  readonly runKey: string;
  /** ISO instant written into `_extracted_at`: the first run's start time. */
  readonly extractedAt: string;
  readonly cursor: string;
  readonly cursorPgType: string;
  /** Whether a unique index covers exactly the cursor (then a partition can resume mid-range). */
  readonly cursorUnique: boolean;
  readonly where: string | null;
  readonly columns: readonly ColumnSpec[];
  readonly partitions: readonly PartitionRange[];
  readonly sourceBytes: number;
  readonly warnings: readonly string[];
}
