/**
 * How long the event loop was blocked while a measurement ran: Parquet encoding runs on the JS
 * thread, and a blocked loop delays heartbeats, cancellation and every other partition's I/O.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Event-loop delay statistics, in milliseconds. */
export interface EventLoopDelay {
  readonly event_loop_delay_max_ms: number;
  readonly event_loop_delay_p99_ms: number;
  readonly event_loop_delay_mean_ms: number;
}

/** Starts the monitor; `stop()` returns the statistics. */
export function startEventLoopMonitor(): { stop(): EventLoopDelay } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const ms = (ns: number): number => Math.round(ns / 1e5) / 10;
  return {
    stop(): EventLoopDelay {
      h.disable();
      return {
        event_loop_delay_max_ms: ms(h.max),
        event_loop_delay_p99_ms: ms(h.percentile(99)),
        event_loop_delay_mean_ms: ms(h.mean),
      };
    },
  };
}
