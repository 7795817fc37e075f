/**
 * History stays bounded: 20,000 tiny partitions run through the real exportTable workflow on the
 * real dev server, with lightweight test doubles for the activities (the orchestration is under
 * test here). Every run of the chain stays under Temporal's 10,240-event warning, and every
 * partition is extracted exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { PgParquetActivities } from '../../activities/index.js';
import type { PartitionRange } from '../../src/plan/partitions.js';
import { WORKFLOWS_PATH } from '../../src/plugin.js';
import type { ExportTableResult } from '../../workflows/export-table.js';
import { stack } from '../support/fixtures.js';

const PARTITIONS = 20_000;
const HISTORY_WARNING = 10_240;

test(
  `${PARTITIONS} partitions: bounded history per run, each partition once`,
  { timeout: 600_000 },
  async (t) => {
    stack();
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Already installed by another test file in this process.
    }
    const extracted = new Map<number, number>();
    const fakes: Pick<
      PgParquetActivities,
      'pgParquetPlan' | 'pgParquetPlanRanges' | 'pgParquetExtractPartition' | 'pgParquetFinalize'
    > = {
      async pgParquetPlan(input) {
        return {
          reused: false,
          plan: {
            version: 2,
            table: input.table,
            runKey: input.runKey,
            extractedAt: input.startedAt,
            cursor: 'id',
            cursorPgType: 'bigint',
            cursorKind: 'integer',
            cursorUnique: true,
            where: null,
            columns: [],
            balance: 'minmax',
            partitionCount: PARTITIONS,
            sourceBytes: 0,
            warnings: [],
          },
        };
      },
      async pgParquetPlanRanges({ start, count }) {
        const ranges: PartitionRange[] = [];
        for (let i = start; i < Math.min(start + count, PARTITIONS); i++) {
          ranges.push({ index: i, lo: String(i * 10), hi: String(i * 10 + 10), includesNulls: i === 0 });
        }
        return { ranges };
      },
      async pgParquetExtractPartition({ partition }) {
        extracted.set(partition.index, (extracted.get(partition.index) ?? 0) + 1);
        return {
          partition: partition.index,
          rows: 10,
          bytes: 100,
          files: 1,
          skipped: false,
          resumedBatches: 0,
        };
      },
      async pgParquetFinalize() {
        return {
          manifestUrl: 'test://manifest',
          rows: PARTITIONS * 10,
          bytes: 0,
          files: PARTITIONS,
          partitions: PARTITIONS,
          rawDeleted: 0,
        };
      },
    };
    const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    const taskQueue = `history-${randomUUID()}`;
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: fakes,
      maxConcurrentActivityTaskExecutions: 200,
    });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    try {
      await worker.runUntil(async () => {
        const workflowId = `it-history-${randomUUID()}`;
        const handle = await client.workflow.start('exportTable', {
          taskQueue,
          workflowId,
          args: [
            {
              source: { table: 'public.t' },
              destination: 'file:///tmp/unused',
              runKey: 'history',
              partitions: { maxConcurrent: 200 },
              compaction: { enabled: false },
            },
          ],
        });
        const result = (await handle.result()) as ExportTableResult;
        assert.equal(result.partitions, PARTITIONS);

        // Walk the chain of runs from the first one; each history must stay small.
        let runId: string | undefined = handle.firstExecutionRunId;
        const sizes: number[] = [];
        while (runId) {
          const history: {
            events?:
              | {
                  workflowExecutionContinuedAsNewEventAttributes?: {
                    newExecutionRunId?: string | null;
                  } | null;
                }[]
              | null;
          } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
          const events = history.events ?? [];
          sizes.push(events.length);
          runId =
            events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
        }
        t.diagnostic(
          `${sizes.length} runs, history events per run: max ${Math.max(...sizes)}, first ${sizes[0]}`,
        );
        assert.ok(sizes.length >= PARTITIONS / 1000, `${sizes.length} runs`);
        assert.ok(Math.max(...sizes) < HISTORY_WARNING, `largest history: ${Math.max(...sizes)} events`);
      });
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
    assert.equal(extracted.size, PARTITIONS, 'every partition extracted');
    assert.ok(
      [...extracted.values()].every((n) => n === 1),
      'no partition extracted twice',
    );
  },
);
