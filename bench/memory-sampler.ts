/** Samples this process's memory while a measurement runs, to show where the peak comes from. */

/** Peaks of the parts of `process.memoryUsage()`, in MiB, and the RSS over time. */
export interface MemoryProfile {
  /** Peak RSS from the kernel (`ru_maxrss`): the figure the report uses. */
  readonly peak_rss_mib: number;
  readonly max_heap_used_mib: number;
  /** Memory of ArrayBuffers (Buffers, typed arrays, WASM memory) outside the JS heap. */
  readonly max_array_buffers_mib: number;
  readonly max_external_mib: number;
  /** RSS every `intervalMs` (a busy event loop delays samples: the trend, not the peak). */
  readonly rss_timeline_mib: readonly number[];
}

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Starts sampling (every 100 ms for the maxima, every `intervalMs` for the timeline). */
export function startMemorySampler(intervalMs = 1000): { stop(): MemoryProfile } {
  let heap = 0;
  let arrayBuffers = 0;
  let external = 0;
  const timeline: number[] = [];
  const sample = (withTimeline: boolean): void => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    arrayBuffers = Math.max(arrayBuffers, m.arrayBuffers);
    external = Math.max(external, m.external);
    if (withTimeline) timeline.push(mib(m.rss));
  };
  let ticks = 0;
  const every = Math.max(1, Math.round(intervalMs / 100));
  const timer = setInterval(() => sample(++ticks % every === 0), 100);
  timer.unref();
  sample(true);
  return {
    stop(): MemoryProfile {
      clearInterval(timer);
      sample(true);
      return {
        peak_rss_mib: mib(process.resourceUsage().maxRSS * 1024),
        max_heap_used_mib: mib(heap),
        max_array_buffers_mib: mib(arrayBuffers),
        max_external_mib: mib(external),
        rss_timeline_mib: timeline,
      };
    },
  };
}
