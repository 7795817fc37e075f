/** The embedded local stack (scripts/stack.sh): bring it up and load its settings into the environment. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** scripts/stack.sh of this package (from source or from dist/). */
function stackScript(): string {
  for (const rel of ['../../scripts/stack.sh', '../../../scripts/stack.sh']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('scripts/stack.sh not found beside this package');
}

/** Parses `export NAME='value'` lines. */
function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(?:'((?:[^']|'\\'')*)'|"([^"]*)"|(\S*))$/.exec(line.trim());
    if (m) out[m[1]!] = (m[2] ?? m[3] ?? m[4] ?? '').replace(/'\\''/g, "'");
  }
  return out;
}

/**
 * Starts the local stack (idempotent) and copies its settings into `process.env`, keeping any
 * variable the user already set. Returns the settings.
 */
export function ensureLocalStack(options: { quiet?: boolean } = {}): Record<string, string> {
  const script = stackScript();
  execFileSync('bash', [script, 'up'], {
    stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  const settings = parseExports(execFileSync('bash', [script, 'env'], { encoding: 'utf8' }));
  for (const [k, v] of Object.entries(settings)) process.env[k] ??= v;
  return settings;
}
