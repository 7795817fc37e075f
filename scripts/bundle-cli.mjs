// Bundles the CLI's client side into dist/bin/pg-parquet.js (run by `npm run build`; the package's
// `bin`). Node resolves, stats, reads and (for CommonJS imported from ESM) lexes every module file
// one by one at start-up: unbundled, `pg-parquet --version` took 0.46 s and 0.41 CPU-s here, most
// of it the module loader, before a single request; bundled, 0.22 s and 0.21 CPU-s. Every command
// and every `pg-parquet export --wait` pays that start-up once more.
//
// What main.ts imports lazily (the worker, the demo, check, the run list) stays as tsc compiled it
// under dist/src: those commands load the worker's modules (the native Temporal core, parquet-wasm,
// the encoder threads, the prebuilt workflow bundle), which find their files beside themselves and
// must be the application's own copies of the Temporal SDK.
import { build } from 'esbuild';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = resolve(root, 'dist/src/cli/main.js');
const outfile = resolve(root, 'dist/bin/pg-parquet.js');

/** Packages with native or WASM files beside their code: loaded from node_modules, not bundled. */
const NATIVE = [
  '@temporalio/worker',
  '@temporalio/core-bridge',
  'parquet-wasm',
  'libpg-query',
  '@cloudpss/zstd',
  'pg-native',
];

/**
 * main.ts's dynamic imports resolve to the compiled files under dist/src, not into the bundle.
 * @type {import('esbuild').Plugin}
 */
const lazyCommands = {
  name: 'lazy-commands',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import' || args.importer !== entry) return undefined;
      const target = relative(dirname(outfile), resolve(dirname(args.importer), args.path));
      return { path: `./${target.split('\\').join('/')}`, external: true };
    });
  },
};

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: NATIVE,
  plugins: [lazyCommands],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __pgParquetRequire } from 'node:module';\nconst require = __pgParquetRequire(import.meta.url);",
  },
  logLevel: 'warning',
  legalComments: 'eof',
  minifyWhitespace: true,
  minifySyntax: true,
});
