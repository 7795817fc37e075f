/**
 * What the threads load: an encoder thread's entry reaches neither apache-arrow nor zod (each
 * costs every encoder thread's isolate memory), and no module of src/ instantiates parquet-wasm
 * at import (the main thread loads it only when it needs it, see src/parquet/parquet-wasm.ts).
 * Walks the value imports (type-only ones are erased) of the TypeScript sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

/** The specifiers `file` imports or re-exports as values. */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const out: string[] = [];
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    }
  }
  return out;
}

/** Every package reached from `entry` through value imports, and the files walked. */
function reach(entry: string): { packages: Set<string>; files: Set<string> } {
  const packages = new Set<string>();
  const files = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of valueImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(resolve(entry));
  return { packages, files };
}

test('an encoder thread loads parquet-wasm and native ZSTD, not apache-arrow or zod', () => {
  const { packages, files } = reach('src/parquet/encode-worker.ts');
  // The walk follows the entry to the loaders of both (which load them on first use).
  for (const file of ['encode-ipc.ts', 'parquet-wasm.ts', 'native-zstd.ts', 'page-compression.ts']) {
    assert.ok(files.has(resolve('src/parquet', file)), file);
  }
  assert.ok(packages.has('node:worker_threads'), [...packages].join(', '));
  assert.equal(packages.has('apache-arrow'), false, [...packages].join(', '));
  assert.equal(packages.has('zod'), false, [...packages].join(', '));
});

test('parquet-wasm is imported as a value only by its lazy loader', () => {
  const importers: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts') && valueImports(path).includes('parquet-wasm')) importers.push(path);
    }
  };
  for (const dir of ['src', 'activities', 'workflows']) walk(dir);
  // parquet-wasm.ts requires it on first use; no static import instantiates it in a thread.
  assert.deepEqual(importers, []);
  assert.ok(readFileSync('src/parquet/parquet-wasm.ts', 'utf8').includes("('parquet-wasm')"));
});
