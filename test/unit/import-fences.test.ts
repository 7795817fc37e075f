/** The ESLint fences that keep workflow code deterministic hold (probed with the project's config). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

/** The rule ids ESLint reports for `code` as if it were the file at `filePath` (an existing file). */
async function restricted(filePath: string, code: string): Promise<boolean> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).some((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
}

test('workflows/ may import values only from src/contract/, types from anywhere', async () => {
  const wf = 'workflows/export-table.ts';
  assert.equal(
    await restricted(wf, "import { connect } from '../src/postgres/connection.js';\nvoid connect;\n"),
    true,
  );
  assert.equal(
    await restricted(wf, "import { RunStore } from '../src/run/run-store.js';\nvoid RunStore;\n"),
    true,
  );
  assert.equal(await restricted(wf, "import pg from 'pg';\nvoid pg;\n"), true);
  assert.equal(
    await restricted(wf, "import { ErrorType } from '../src/contract/errors.js';\nvoid ErrorType;\n"),
    false,
  );
  assert.equal(
    await restricted(
      wf,
      "import type { PgParquetActivities } from '../activities/index.js';\nexport type A = PgParquetActivities;\n",
    ),
    false,
  );
});

test('src/contract/ imports nothing from the rest of src/ and no side-effecting package', async () => {
  const c = 'src/contract/export-input.ts';
  assert.equal(
    await restricted(c, "import { connect } from '../postgres/connection.js';\nvoid connect;\n"),
    true,
  );
  assert.equal(await restricted(c, "import { readFile } from 'node:fs/promises';\nvoid readFile;\n"), true);
  assert.equal(await restricted(c, "import { ErrorType } from './errors.js';\nvoid ErrorType;\n"), false);
});
