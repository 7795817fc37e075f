/**
 * History stays bounded: 20,000 tiny partitions run through the real exportTable workflow on the
 * real dev server, with lightweight test doubles for the activities (the orchestration is under
 * test here). Every run of the chain stays under Temporal's 10,240-event warning, holds at most
 * `maxConcurrent` extractions pending, and every partition is extracted; a partition is started
 * twice only when a run hands it, in flight, to the next (at most `maxConcurrent` per hand-over).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stack } from '../support/fixtures.js';
import { maxPendingExtractions, runFakeExport } from '../support/fake-export.js';

/** 20,000 in `npm test` (~3 min); `PG_PARQUET_TEST_PARTITIONS=100000` for the full-scale run. */
const PARTITIONS = Number(process.env.PG_PARQUET_TEST_PARTITIONS ?? 20_000);
const WIDTH = 200;
const HISTORY_WARNING = 10_240;

test(
  `${PARTITIONS} partitions: bounded history per run, each partition extracted`,
  { timeout: 3_600_000 },
  async (t) => {
    stack();
    const extracted = new Map<number, number>();
    const { result, histories } = await runFakeExport({
      partitions: PARTITIONS,
      width: WIDTH,
      workerSlots: WIDTH,
      extract: async (p) => void extracted.set(p.index, (extracted.get(p.index) ?? 0) + 1),
    });
    assert.equal(result.partitions, PARTITIONS);
    const sizes = histories.map((h) => h.length);
    const pending = histories.map(maxPendingExtractions);
    t.diagnostic(
      `${sizes.length} runs, history events per run: max ${Math.max(...sizes)}, first ${sizes[0]}`,
    );
    assert.ok(sizes.length >= PARTITIONS / 1000, `${sizes.length} runs`);
    assert.ok(Math.max(...sizes) < HISTORY_WARNING, `largest history: ${Math.max(...sizes)} events`);
    assert.ok(Math.max(...pending) <= WIDTH, `most extractions pending in a run: ${Math.max(...pending)}`);

    assert.equal(extracted.size, PARTITIONS, 'every partition extracted');
    const handOvers = sizes.length - 1;
    const twice = [...extracted.values()].filter((n) => n > 1).length;
    t.diagnostic(`${twice} partitions started again after a hand-over (${handOvers} hand-overs)`);
    assert.ok(
      [...extracted.values()].every((n) => n <= 2) && twice <= WIDTH * handOvers,
      `${twice} partitions extracted twice over ${handOvers} hand-overs`,
    );
  },
);
