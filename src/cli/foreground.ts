/**
 * `--wait` in the foreground: a progress view while the run goes on, and Ctrl-C (or SIGTERM)
 * that stops following, not the run, saying how to follow or cancel it.
 */
import { ExitCode, RunFailure } from './failure.js';
import { type LiveProgress, ProgressView, progressModeFor, type ProgressUnit } from './progress-view.js';

/** What {@link followInForeground} follows. */
export interface ForegroundRun<R> {
  readonly workflowId: string;
  readonly runKey: string;
  /** `--json`: no progress, and the detach notice as one JSON document. */
  readonly json: boolean;
  /** Seconds between progress lines when stderr is not a terminal. */
  readonly progressInterval: number;
  readonly unit: ProgressUnit;
  /**
   * Waits for the result, calling `onLook` with each look at the run; without one (`--json`
   * shows no progress) it only waits, asking neither the workflow nor the server anything.
   */
  readonly follow: (onLook: ((live: LiveProgress) => void) | undefined) => Promise<R>;
}

/**
 * Follows a run to its result, showing progress; on Ctrl-C or SIGTERM exits (130, or 143)
 * leaving the run to the workers.
 * @throws RunFailure with the run's id and runKey when the run fails.
 */
export async function followInForeground<R>(run: ForegroundRun<R>): Promise<R> {
  const { workflowId, runKey, json } = run;
  const mode = progressModeFor(json);
  const view = new ProgressView(mode, run.progressInterval, process.stderr, run.unit);
  const detach = (signal: NodeJS.Signals) => {
    view.stop();
    if (json) console.log(JSON.stringify({ status: 'running', detached: true, workflowId, runKey }, null, 2));
    console.error(
      `\n${signal}: stopped following; the export continues on the workers.\n` +
        `  follow it:  pg-parquet status '${workflowId}'\n` +
        `  cancel it:  pg-parquet cancel '${workflowId}'`,
    );
    process.exit(signal === 'SIGINT' ? ExitCode.interrupted : 128 + 15);
  };
  process.once('SIGINT', detach);
  process.once('SIGTERM', detach);
  try {
    return await run.follow(mode === 'off' ? undefined : (live) => view.update(live));
  } catch (err) {
    throw new RunFailure(err, workflowId, runKey);
  } finally {
    view.stop();
    process.removeListener('SIGINT', detach);
    process.removeListener('SIGTERM', detach);
  }
}
