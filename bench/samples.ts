/** Measured samples, grouped by measurement, and their medians. */

/** One measured run. */
export interface Sample {
  /** Seconds of the work as the contender times it (for the CLI runs: the whole process). */
  readonly seconds: number;
  /**
   * Spawn to exit of the process a user starts (the anchor's python, the CLI), measured by the
   * bench: start-up included. Undefined for runs inside the bench process.
   */
  readonly wallSeconds?: number;
  /** CPU seconds (user + sys, all threads) of the exporting process(es), when measured. */
  readonly cpuSeconds?: number;
  /** CPU seconds of PostgreSQL's server processes over the run, when visible from here. */
  readonly postgresCpuSeconds?: number;
  readonly rows: number;
  /** Peak RSS of the process that did the work, in MiB (undefined when not measured). */
  readonly peakRssMib?: number;
  /** Bytes of Parquet written, when known. */
  readonly bytesOut?: number;
  /** Bytes PostgreSQL sent through binary COPY (the COPY-limit runs only). */
  readonly copyBytes?: number;
  /** Anything else the run reported, kept in the JSON for diagnosis. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What a measurement is: a stable id for the JSON, a label for the table. */
export interface MeasurementInfo {
  readonly id: string;
  readonly label: string;
  /** Which bench table it ran on (`schema.bench_events`). */
  readonly table: string;
  readonly kind: 'limit' | 'ours' | 'anchor';
}

/** A measurement and its samples, in the order they were taken. */
export interface Measurement extends MeasurementInfo {
  readonly samples: Sample[];
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Collects samples per measurement, keeping the order in which measurements first appear. */
export class SampleLog {
  private readonly byId = new Map<string, Measurement>();

  /** Adds one sample of `info`. */
  add(info: MeasurementInfo, sample: Sample): void {
    let m = this.byId.get(info.id);
    if (!m) {
      m = { ...info, samples: [] };
      this.byId.set(info.id, m);
    }
    m.samples.push(sample);
  }

  /** Every measurement so far. */
  all(): readonly Measurement[] {
    return [...this.byId.values()];
  }
}
