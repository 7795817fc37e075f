/**
 * The local stack's settings for integration tests. When `AWS_ENDPOINT_URL_S3` is already set
 * (a stack started by hand, or CI), the environment is used as is; otherwise
 * `scripts/stack.sh up` starts the stack and the `export` lines of `scripts/stack.sh env` are
 * loaded into `process.env`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const STACK_SCRIPT = fileURLToPath(new URL('../../scripts/stack.sh', import.meta.url));

/** The variables tests read, reported from `process.env` when the stack was already configured. */
const STACK_VARIABLES = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'PG_PARQUET_DEMO_BUCKET',
];

let pending: Promise<Record<string, string>> | undefined;

/**
 * Makes sure the local stack runs and its settings are in `process.env` (variables already set
 * win). Returns the settings. Concurrent and repeated calls share one start.
 */
export function ensureStack(): Promise<Record<string, string>> {
  pending ??= start().catch((err: unknown) => {
    pending = undefined; // let a later call try again
    throw err;
  });
  return pending;
}

async function start(): Promise<Record<string, string>> {
  if (process.env.AWS_ENDPOINT_URL_S3) {
    const out: Record<string, string> = {};
    for (const name of STACK_VARIABLES) {
      const value = process.env[name];
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  // Generous buffers and timeout: the first start may download or build binaries.
  await run('bash', [STACK_SCRIPT, 'up'], { maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 });
  const { stdout } = await run('bash', [STACK_SCRIPT, 'env'], { timeout: 60_000 });
  const settings = parseExportLines(stdout);
  if (!settings.AWS_ENDPOINT_URL_S3) {
    throw new Error(
      `scripts/stack.sh env printed no AWS_ENDPOINT_URL_S3 (got: ${Object.keys(settings).join(', ')})`,
    );
  }
  for (const [name, value] of Object.entries(settings)) process.env[name] ??= value;
  return settings;
}

/**
 * Parses shell `export NAME=value` lines as printed by `stack.sh env`: values may be bare,
 * 'single-quoted' (with the `'\''` idiom for quotes) or "double-quoted" (with \" \\ \$ \`).
 */
export function parseExportLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    out[m[1]!] = unquote(m[2]!.trim());
  }
  return out;
}

function unquote(value: string): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === "'") {
      const end = value.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${value}`);
      out += value.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && /["\\$`]/.test(value[i + 1] ?? '')) i++;
        out += value[i];
        i++;
      }
      i++;
    } else if (c === '\\') {
      out += value[i + 1] ?? '';
      i += 2;
    } else if (/\s/.test(c) || c === '#') {
      break; // end of the word, or a trailing comment
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
