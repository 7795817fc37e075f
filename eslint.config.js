// @ts-check
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

/** Modules with side effects that must never reach deterministic workflow code. */
const FORBIDDEN_IN_WORKFLOWS = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'crypto',
  'child_process',
  'stream',
  'pg',
  'pg-copy-streams',
  '@aws-sdk/*',
  'parquet-wasm',
  'apache-arrow',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

/**
 * Workflow code is replayed, so it and what it imports must be deterministic: no module with side
 * effects at runtime (type imports are fine), plus `own`, the folder's own import rule.
 * @param {string[]} files
 * @param {string} folder
 * @param {Record<string, unknown>} own
 */
function deterministic(files, folder, own) {
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: FORBIDDEN_IN_WORKFLOWS,
              allowTypeImports: true,
              message: `${folder} must stay deterministic: import types only.`,
            },
            own,
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.stack/**', 'bench/results/**', 'eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // scripts/*.mjs run with plain Node (the build): linted with default compiler options.
        projectService: { allowDefaultProject: ['scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  deterministic(['workflows/**/*.ts'], 'workflows/', {
    // Values only from the pure contract; types from anywhere.
    regex: '^\\.\\./(src/(?!contract/)|activities/)',
    allowTypeImports: true,
    message: 'workflows/ may import values only from src/contract/ (pure, deterministic).',
  }),
  deterministic(['src/contract/**/*.ts'], 'src/contract/', {
    // The contract is what workflows import: nothing from the rest of src/ may come with it.
    group: ['../**'],
    message: 'src/contract/ imports only its own modules (and pure packages such as zod).',
  }),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
