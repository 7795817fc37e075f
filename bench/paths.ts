/** Where the bench finds the project, the shared anchors and its results folder. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `../shared/bench` beside the project: the tables and anchor scripts (override: PG_PARQUET_SHARED_BENCH). */
export const SHARED_BENCH = process.env.PG_PARQUET_SHARED_BENCH ?? join(ROOT, '..', 'shared', 'bench');

/** Where results are written. */
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** Arguments that run a TypeScript file of this project in a fresh Node process. */
export function tsNodeArgs(relativePath: string, args: readonly string[] = []): string[] {
  return ['--import', 'tsx', join(ROOT, relativePath), ...args];
}
