/**
 * A fetched workflow history as searchable text: every payload decoded. JSON.stringify alone
 * renders a payload's bytes as numbers, so a secret inside an input, a result, a heartbeat or a
 * failure would pass a plain text search unseen.
 */
import type { WorkflowHandle } from '@temporalio/client';

/** A fetched history. */
export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/**
 * The history's structure as JSON, the UTF-8 text of every byte array in it, and every payload
 * decoded as the default payload converter wrote it (`encoding` json/plain: its JSON parsed and
 * each string in it unescaped, itself parsed again when it is JSON text). A payload is any
 * `{ metadata: { encoding }, data }`, wherever it sits (input, results, heartbeat details,
 * failure details, memo, search attributes, user metadata); `data` as bytes or, as in a history
 * exported as JSON, base64 text.
 */
export function historyText(history: unknown): string {
  return decodedText(history).text;
}

/** {@link historyText}, and how many payloads it decoded (a test checks there were some). */
export function decodedText(history: unknown): { text: string; payloads: number } {
  const decoded: string[] = [];
  const decoder = new TextDecoder();
  let payloads = 0;
  const strings = (v: unknown): void => {
    if (typeof v === 'string') {
      decoded.push(v);
      if (/^\s*[[{"]/.test(v)) {
        try {
          strings(JSON.parse(v));
        } catch {
          // Not JSON text: the string itself is pushed above.
        }
      }
    } else if (Array.isArray(v)) v.forEach(strings);
    else if (v !== null && typeof v === 'object')
      Object.entries(v).forEach(([k, x]) => (decoded.push(k), strings(x)));
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
      decoded.push(String(v));
  };
  const payload = (p: { metadata?: Record<string, unknown>; data?: unknown }): void => {
    const bytes = (b: unknown): Uint8Array | undefined =>
      b instanceof Uint8Array ? b : typeof b === 'string' ? Buffer.from(b, 'base64') : undefined;
    const encoding = bytes(p.metadata?.encoding);
    const data = bytes(p.data);
    if (!encoding) return;
    payloads++;
    const text = data ? decoder.decode(data) : '';
    decoded.push(text);
    if (decoder.decode(encoding) === 'json/plain' && text !== '') strings(JSON.parse(text));
  };
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) decoded.push(decoder.decode(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as { metadata?: Record<string, unknown>; data?: unknown };
      if (o.metadata && typeof o.metadata === 'object' && 'encoding' in o.metadata) payload(o);
      Object.values(v).forEach(walk);
    }
  };
  walk(history);
  return { text: `${JSON.stringify(history)}\n${decoded.join('\n')}`, payloads };
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
