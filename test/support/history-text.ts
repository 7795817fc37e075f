/**
 * A fetched workflow history as searchable text: every payload decoded. JSON.stringify alone
 * renders a payload's bytes as numbers, so a secret inside an input, a result, a heartbeat or a
 * failure would pass a plain text search unseen.
 */
import type { WorkflowHandle } from '@temporalio/client';

/** A fetched history. */
export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** The history's structure as JSON, plus the UTF-8 text of every byte array in it (payload data, metadata). */
export function historyText(history: History): string {
  const decoded: string[] = [];
  const decoder = new TextDecoder();
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) decoded.push(decoder.decode(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(history);
  return `${JSON.stringify(history)}\n${decoded.join('\n')}`;
}

/** The decoded summaries (user metadata) of the activities scheduled in a history, by activity type. */
export function activitySummaries(history: History): { type: string; summary: string | null }[] {
  const decoder = new TextDecoder();
  return (history.events ?? []).flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) return [];
    const data = e.userMetadata?.summary?.data;
    // The default converter writes a string summary as JSON text.
    const summary = data ? (JSON.parse(decoder.decode(data)) as string) : null;
    return [{ type: a.activityType?.name ?? '', summary }];
  });
}
