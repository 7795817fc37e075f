/**
 * A bounded pipeline stage: jobs (such as Parquet encodes) run concurrently, but their results
 * are committed (stored) strictly one at a time in submission order. That order is what keeps
 * resume simple: the stored batches of a partition are always a prefix 0..k-1, so a retry
 * continues after the last one. After a failed job or commit nothing later is committed.
 */
export class OrderedCommits<T> {
  /** One entry per job not yet committed: settles (never rejects) when its commit is over. */
  private readonly inFlight: Promise<void>[] = [];
  private tail: Promise<void> = Promise.resolve();
  private failure: { readonly error: unknown } | undefined;

  /**
   * @param capacity jobs in flight (running or waiting for their commit) before `add` waits.
   * @param commit stores one result; called in submission order, never concurrently.
   */
  constructor(
    private readonly capacity: number,
    private readonly commit: (result: T) => Promise<void>,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`invalid capacity ${String(capacity)}: expected a positive integer`);
    }
  }

  /**
   * Adds a running job. Resolves when there is room for another one; rejects with the first
   * failure of any job or commit.
   */
  async add(job: Promise<T>): Promise<void> {
    this.throwIfFailed();
    // Handled below, in order; this only keeps an early rejection from being reported unhandled.
    job.catch(() => undefined);
    this.tail = this.tail.then(async () => {
      if (this.failure) return;
      try {
        await this.commit(await job);
      } catch (error) {
        this.failure ??= { error };
      }
    });
    this.inFlight.push(this.tail);
    while (this.inFlight.length >= this.capacity) await this.inFlight.shift();
    this.throwIfFailed();
  }

  /** Waits until every job added so far is committed; rejects with the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits until every job added so far is committed or skipped; never rejects. */
  async settle(): Promise<void> {
    await this.tail;
    this.inFlight.length = 0;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
