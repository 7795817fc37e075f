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

/** What a `#!/usr/bin/env -S [NAME=value …] node [flag …]` line starts: `node` with these. */
export interface NodeLaunch {
  readonly env: Readonly<Record<string, string>>;
  readonly flags: readonly string[];
}

/**
 * The variables and Node flags of `file`'s `#!` line (the bin's, or main.ts's that it comes from),
 * which `node file` does not read.
 *
 * @throws Error when the file does not start with a `#!/usr/bin/env node` line.
 */
export function nodeLaunchOf(file: string): NodeLaunch {
  const line = readFileSync(file, 'utf8').split('\n', 1)[0]!;
  const hashbang = /^#!\/usr\/bin\/env(?:\s+-S)?((?:\s+\w+=\S*)*)\s+node((?:\s+\S+)*)\s*$/.exec(line);
  if (!hashbang) throw new Error(`${file} does not start with a #!/usr/bin/env node line: ${line}`);
  const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);
  const env = Object.fromEntries(
    words(hashbang[1]!).map((assignment) => {
      const at = assignment.indexOf('=');
      return [assignment.slice(0, at), assignment.slice(at + 1)];
    }),
  );
  return { env, flags: words(hashbang[2]!) };
}

/** How to start the `pg-parquet` command: `node` with these arguments, with these variables set. */
export interface CliCommand {
  readonly argv: string[];
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The `pg-parquet` command as an installed package runs it: the compiled `dist/bin/pg-parquet.js`
 * (its `bin`, the bundled CLI), built by {@link buildPackage}, with the variables and Node flags of
 * its `#!` line ({@link nodeLaunchOf}), as the installed bin gets them; no TypeScript loader.
 */
export function cliCommand(args: readonly string[]): CliCommand {
  const bin = join(ROOT, 'dist', 'bin', 'pg-parquet.js');
  const { env, flags } = nodeLaunchOf(bin);
  return { argv: [...flags, bin, ...args], env };
}

/** Builds `dist/` (`npm run build`), so that the bench runs what users install. */
export function buildPackage(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** Arguments that run a TypeScript file of this project in a fresh Node process. */
export function tsNodeArgs(relativePath: string, args: readonly string[] = []): string[] {
  return ['--import', 'tsx', join(ROOT, relativePath), ...args];
}
