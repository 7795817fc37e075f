/** The extraction pipeline's ordering stage: results stored in submission order, bounded, and a failure stops all later commits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderedCommits } from '../../src/export/ordered-commits.js';

const after = <T>(ms: number, value: T): Promise<T> => sleep(ms).then(() => value);

test('commits in submission order although later jobs finish first', async () => {
  const committed: number[] = [];
  const q = new OrderedCommits<number>(3, async (n) => {
    committed.push(n);
    await sleep(1);
  });
  for (const [i, ms] of [30, 5, 15, 1, 20, 2].entries()) await q.add(after(ms, i));
  await q.drain();
  assert.deepEqual(committed, [0, 1, 2, 3, 4, 5]);
});

test('add waits while `capacity` jobs are in flight', async () => {
  let running = 0;
  let most = 0;
  const q = new OrderedCommits<number>(2, async () => {
    await sleep(2);
    running--;
  });
  for (let i = 0; i < 8; i++) {
    running++;
    most = Math.max(most, running);
    await q.add(after(3, i));
  }
  await q.drain();
  assert.equal(running, 0);
  assert.ok(most <= 2, `at most 2 in flight, saw ${most}`);
});

test('after a failed job nothing later is committed, and add/drain reject with that failure', async () => {
  const committed: number[] = [];
  const q = new OrderedCommits<number>(4, async (n) => void committed.push(n));
  const boom = new Error('encode failed');
  await q.add(after(5, 0));
  await q.add(after(1, 1).then(() => Promise.reject(boom)));
  await q.add(after(1, 2)).catch(() => undefined);
  await assert.rejects(q.drain(), (e) => e === boom);
  await assert.rejects(q.add(Promise.resolve(3)), (e) => e === boom);
  await q.settle();
  assert.deepEqual(committed, [0]);
});

test('a failed commit stops later commits too', async () => {
  const committed: number[] = [];
  const q = new OrderedCommits<number>(8, async (n) => {
    if (n === 1) throw new RangeError('S3 put failed');
    committed.push(n);
  });
  for (let i = 0; i < 4; i++) await q.add(Promise.resolve(i));
  await assert.rejects(q.drain(), RangeError);
  assert.deepEqual(committed, [0]);
});
