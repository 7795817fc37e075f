/**
 * Heartbeats on a timer for the activities whose work has long single steps (a listing of many
 * markers, a count(*) at the source, a large upload): their heartbeat timeout can then be as short
 * as extraction's, so a killed worker's activity is retried elsewhere within about 20 s in every
 * phase, however long one step takes. The timer proves the process is alive, not that the step
 * progresses: a hung request is ended by its own timeout (S3 requests, the activity's
 * start-to-close), not by the heartbeat timeout.
 */
import type { Context } from '@temporalio/activity';

/**
 * Pulse period: well under the 20 s heartbeat timeout (the SDK sends at most one heartbeat per
 * 0.8 × timeout, the latest details), like extraction's 2 s pulse.
 */
const PULSE_MS = 2_000;

/**
 * Runs `fn` with a `heartbeat` that records progress details, and heartbeats the latest details
 * (first `initial`) every {@link PULSE_MS} until `fn` settles.
 */
export async function withPulse<T, P>(
  ctx: Context,
  initial: P,
  fn: (heartbeat: (progress: P) => void) => Promise<T>,
): Promise<T> {
  let latest = initial;
  ctx.heartbeat(latest);
  const timer = setInterval(() => ctx.heartbeat(latest), PULSE_MS);
  // Never keeps a worker that is shutting down alive by itself.
  timer.unref();
  try {
    return await fn((progress) => {
      latest = progress;
      ctx.heartbeat(progress);
    });
  } finally {
    clearInterval(timer);
  }
}
