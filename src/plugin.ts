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
import { createActivities, type ActivityDeps } from '../activities/index.js';

/** Name under which the plugin registers itself. */
export const PLUGIN_NAME = 'temporal-pg-parquet';

/** Absolute path of the plugin's workflows module (compiled `.js`, or `.ts` when run from source). */
export const WORKFLOWS_PATH: string = (() => {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
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
}
