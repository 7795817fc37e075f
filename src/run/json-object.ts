/** Small JSON documents in the object store (plans, partition markers, manifests). */
import type { ObjectStore } from '../storage/object-store.js';

/** Reads and parses a JSON object; `undefined` when it does not exist. */
export async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  const bytes = await store.get(key);
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as T) : undefined;
}

/** Writes a JSON document (pretty-printed, so it is byte-identical for identical content). */
export async function writeJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, jsonBytes(value), 'application/json');
}

/**
 * Writes a JSON document unless the store already holds these very bytes under `key`: a re-run of
 * a finished run then rewrites nothing (no new object version, no change notification).
 */
export async function writeJsonIfChanged(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await putIfChanged(store, key, jsonBytes(value), 'application/json');
}

/** Stores `body` under `key` unless the store already holds exactly these bytes there. */
export async function putIfChanged(
  store: ObjectStore,
  key: string,
  body: Uint8Array,
  contentType: string,
): Promise<void> {
  const stored = await store.get(key);
  if (stored && Buffer.from(stored).equals(body)) return;
  await store.put(key, body, contentType);
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}
