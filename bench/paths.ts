/** Where the bench finds the project, the shared anchors and its results folder. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `../shared/bench` beside the project: the tables and anchor scripts (override: PG_PARQUET_SHARED_BENCH). */
export const SHARED_BENCH = process.env.PG_PARQUET_SHARED_BENCH ?? join(ROOT, '..', 'shared', 'bench');

/** Where results are written. */
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/**
 * Arguments of `node` that run the `pg-parquet` command as an installed package runs it: the
 * compiled `dist/bin/pg-parquet.js` (its `bin`, the bundled CLI), built by {@link buildPackage},
 * with the Node flags of its `#!/usr/bin/env -S node …` line, as the installed bin gets them; no
 * TypeScript loader.
 */
export function cliArgs(args: readonly string[]): string[] {
  const bin = join(ROOT, 'dist', 'bin', 'pg-parquet.js');
  const hashbang = /^#!\/usr\/bin\/env\s+(?:-S\s+)?node((?:\s+\S+)*)\s*$/.exec(
    readFileSync(bin, 'utf8').split('\n', 1)[0]!,
  );
  if (!hashbang) throw new Error(`${bin} does not start with a #!/usr/bin/env node line`);
  return [...hashbang[1]!.split(/\s+/).filter(Boolean), bin, ...args];
}

/** Builds `dist/` (`npm run build`), so that the bench runs what users install. */
export function buildPackage(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** Arguments that run a TypeScript file of this project in a fresh Node process. */
export function tsNodeArgs(relativePath: string, args: readonly string[] = []): string[] {
  return ['--import', 'tsx', join(ROOT, relativePath), ...args];
}
