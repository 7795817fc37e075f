/** Small JSON documents in the object store (plans, partition markers, manifests). */
import type { ObjectStore } from '../storage/object-store.js';

/** Reads and parses a JSON object; `undefined` when it does not exist. */
export async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  const bytes = await store.get(key);
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as T) : undefined;
}

/** Writes a JSON document (pretty-printed, so it is byte-identical for identical content). */
export async function writeJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`), 'application/json');
}
