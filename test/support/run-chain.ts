/**
 * The histories of a workflow's run chain, read from the runs themselves: from the first run
 * through each continue-as-new event to the last. (The visibility store, which `workflow.list`
 * reads, may not show the newest run yet.)
 */
import type { Client, WorkflowHandle } from '@temporalio/client';

/** One event of a workflow run's history. */
export type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** The history of every run of the chain that starts with `firstRunId`, in order. */
export async function chainHistories(
  client: Client,
  workflowId: string,
  firstRunId: string,
): Promise<HistoryEvent[][]> {
  const histories: HistoryEvent[][] = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const run: WorkflowHandle = client.workflow.getHandle(workflowId, runId);
    const events: HistoryEvent[] = (await run.fetchHistory()).events ?? [];
    histories.push(events);
    // A run that continued as new ends with that event; the chain's last run ends otherwise.
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return histories;
}
