/**
 * One slow partition never idles the other slots: not at the edge of a chunk of ranges, and not
 * where a run continues as new (it hands the slow partition, in flight, to the next run). The real
 * exportTable workflow on the real dev server, with test doubles for the activities.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stack } from '../support/fixtures.js';
import { maxPendingExtractions, runFakeExport } from '../support/fake-export.js';

/** Two runs' worth of partitions (a run starts 1,000; ranges come 250 at a time). */
const PARTITIONS = 1_300;
const WIDTH = 32;
const SLOW = 10;
/** The slow partition returns only once this many others are done (or after the cap). */
const OTHERS_FIRST = 1_200;
const SLOW_CAP_MS = 45_000;

test(
  'a slow partition holds one slot: the others run on, across chunk edges and runs',
  { timeout: 300_000 },
  async (t) => {
    stack();
    const done = new Set<number>();
    let othersDone = 0;
    let releaseSlow: (() => void) | undefined;
    const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
    const slowAttempts: { startedAfter: number; finishedAfter: number }[] = [];
    const { result, histories } = await runFakeExport({
      partitions: PARTITIONS,
      width: WIDTH,
      workerSlots: 40,
      // As a worker before `firstRanges` answered: every range comes from pgParquetPlanRanges
      // (the other fake-export tests plan as this version does).
      planGivesRanges: false,
      async extract(partition) {
        if (partition.index === SLOW) {
          const attempt = { startedAfter: othersDone, finishedAfter: -1 };
          slowAttempts.push(attempt);
          let cap: NodeJS.Timeout | undefined;
          await Promise.race([slowReleased, new Promise((r) => (cap = setTimeout(r, SLOW_CAP_MS)))]);
          clearTimeout(cap);
          attempt.finishedAfter = othersDone;
        } else if (!done.has(partition.index)) {
          othersDone++;
          if (othersDone >= OTHERS_FIRST) releaseSlow?.();
        }
        done.add(partition.index);
      },
    });
    t.diagnostic(`slow partition attempts (others done at start → at end): ${JSON.stringify(slowAttempts)}`);
    assert.equal(result.partitions, PARTITIONS);
    assert.equal(done.size, PARTITIONS, 'every partition extracted');
    // While the slow partition was in flight, the other slots finished OTHERS_FIRST partitions:
    // beyond the first run's 1,000, so across chunk edges and a hand-over. With a window that
    // drained at a run's end, the others would have stopped near 1,000 until the cap released it.
    const last = slowAttempts.at(-1);
    assert.ok(last && last.finishedAfter >= OTHERS_FIRST, JSON.stringify(slowAttempts));
    assert.ok(slowAttempts.length >= 2, 'the slow partition was handed over to a later run');
    assert.ok(histories.length >= 2, `${histories.length} runs`);
    assert.ok(Math.max(...histories.map(maxPendingExtractions)) <= WIDTH);
  },
);
