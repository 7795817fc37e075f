/**
 * `PgParquetPlugin`: registers the exporter's activities and workflows on a Temporal worker.
 *
 * SimplePlugin *replaces* a worker's `workflowsPath`. A worker that also runs its own workflows
 * passes `registerWorkflows: false` and re-exports ours from its workflows file:
 * `export * from 'temporal-pg-parquet/workflows';`
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SimplePlugin } from '@temporalio/plugin';
import type { WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';

/** Name under which the plugin registers itself. */
export const PLUGIN_NAME = 'temporal-pg-parquet';

/** Absolute path of the plugin's workflows module (compiled `.js`, or `.ts` when run from source). */
export const WORKFLOWS_PATH: string = (() => {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
})();

/**
 * The prebuilt bundle of those workflows (`dist/workflow-bundle.js`, written by `npm run build`),
 * or undefined when running from source.
 */
const WORKFLOW_BUNDLE_PATH: string | undefined = (() => {
  const bundle = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
  return WORKFLOWS_PATH.endsWith('.js') && existsSync(bundle) ? bundle : undefined;
})();

/** Options of {@link PgParquetPlugin}. */
export interface PgParquetPluginOptions extends ActivityDeps {
  /**
   * Set `workflowsPath` to the plugin's workflows (default true). Set false when the worker has
   * its own workflows file that re-exports `temporal-pg-parquet/workflows`.
   */
  readonly registerWorkflows?: boolean;
}

/** The Temporal plugin: activities always, workflows unless `registerWorkflows: false`. */
export class PgParquetPlugin extends SimplePlugin {
  constructor(options: PgParquetPluginOptions = {}) {
    super({
      name: PLUGIN_NAME,
      activities: createActivities(options),
      ...(options.registerWorkflows === false ? {} : { workflowsPath: WORKFLOWS_PATH }),
    });
  }

  /**
   * As SimplePlugin, but a worker of the compiled package that runs only our workflows loads their
   * prebuilt bundle instead of bundling them with webpack at start-up (idle RSS −100 MiB).
   */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    const out = super.configureWorker(options);
    const ownModules = options.interceptors?.workflowModules ?? [];
    if (
      WORKFLOW_BUNDLE_PATH &&
      out.workflowsPath === WORKFLOWS_PATH &&
      !out.workflowBundle &&
      ownModules.length === 0
    ) {
      const { workflowsPath: _bundled, ...rest } = out;
      return { ...rest, workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } };
    }
    return out;
  }
}
