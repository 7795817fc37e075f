/**
 * Live progress at scale, through the real exportTable workflow with test doubles for its
 * activities (test/support/fake-export.ts): many partitions at once, each reporting its progress
 * through the real reporter, over a continue-as-new that hands running partitions to the next run.
 * The reports must not lengthen any run's history beyond a few events per partition (compared with
 * the same export without reports), and the `progress` query must never count a row twice: rows
 * minus the running partitions' live rows is exactly the finished partitions' rows, in every run
 * of the chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { progressReporter } from '../../activities/progress-reports.js';
import type { ExportProgress } from '../../workflows/export-table.js';
import { runFakeExport } from '../support/fake-export.js';
import { stack } from '../support/fixtures.js';

/** More than one run's budget (1,000 activities), so that partitions are carried over. */
const PARTITIONS = 1_200;
const WIDTH = 50;
/** What the fake extraction returns per partition (test/support/fake-export.ts). */
const RESULT_ROWS = 10;
/** The fake extraction's live rows: reported at once, then again half a second later. */
const LIVE_ROWS = [2, 5];

/** A fake extraction of ~1.2 s that reports LIVE_ROWS when `report` (else only waits as long). */
const extraction = (report: boolean) => async (partition: { index: number }) => {
  const reports = report ? progressReporter(Context.current(), partition.index) : undefined;
  try {
    for (const rows of LIVE_ROWS) {
      reports?.offer({ rows, bytes: rows * 10 });
      await sleep(600);
    }
  } finally {
    reports?.stop();
  }
};

test(
  `${PARTITIONS} partitions reporting live progress: bounded history, no row counted twice`,
  { timeout: 600_000 },
  async (t) => {
    stack();
    const samples: ExportProgress[] = [];
    const watch = async (handle: WorkflowHandle) => {
      let done = false;
      const ended = handle.result().finally(() => (done = true));
      while (!done) {
        const p = await handle.query<ExportProgress>('progress').catch(() => undefined);
        if (p?.phase === 'extracting') samples.push(p);
        await sleep(200);
      }
      await ended.catch(() => undefined);
    };
    const spec = { partitions: PARTITIONS, width: WIDTH, workerSlots: WIDTH };
    const [reported, silent] = await Promise.all([
      runFakeExport({ ...spec, extract: extraction(true), watch }),
      runFakeExport({ ...spec, extract: extraction(false) }),
    ]);
    assert.equal(reported.result.partitions, PARTITIONS);

    // No double count, whatever the moment and the run of the chain.
    const sum = (p: ExportProgress) => p.runningPartitions.reduce((s, r) => s + r.rows, 0);
    const live = samples.filter((p) => sum(p) > 0);
    t.diagnostic(`${samples.length} answers while extracting, ${live.length} with live rows`);
    assert.ok(live.length > 0, 'the reports reached the query');
    for (const p of samples) {
      assert.equal(p.rows - sum(p), RESULT_ROWS * p.partitions.done, JSON.stringify(p.partitions));
      assert.ok(p.runningPartitions.length <= p.partitions.running);
      assert.ok(sum(p) <= Math.max(...LIVE_ROWS) * p.partitions.running);
    }

    const sizes = (run: typeof reported) => run.histories.map((h) => h.length);
    t.diagnostic(
      `history events per run: ${sizes(reported).join(', ')} with reports, ${sizes(silent).join(', ')} without`,
    );
    assert.ok(reported.histories.length >= 2, 'the export continued as new');
    const total = (run: typeof reported) => sizes(run).reduce((a, b) => a + b, 0);
    // A report's workflow task that an activity completion overtakes is written (3 events): at
    // most once per completion, never once per report.
    assert.ok(
      total(reported) <= total(silent) + 3 * PARTITIONS,
      `${total(reported)} events with reports, ${total(silent)} without`,
    );
    for (const h of reported.histories) {
      assert.ok(h.length < 10_240, `a run of ${h.length} events`);
      assert.ok(!h.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes), 'no accepted Update');
    }
  },
);
