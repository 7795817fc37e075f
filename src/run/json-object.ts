/** Small JSON documents in the object store (plans, partition markers, manifests). */
import type { ObjectStore } from '../storage/object-store.js';

/** Reads and parses a JSON object; `undefined` when it does not exist. */
export async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  const bytes = await store.get(key);
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as T) : undefined;
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

/**
 * Writes a JSON document create-only: the first writer of `key` wins. Returns what `key` holds
 * afterwards: `created` when this call stored it, else the document another writer (another run
 * of the runKey, or an earlier attempt of this one) stored first, parsed, for the caller to adopt
 * or refuse. `same` says whether that document's bytes are the ones this call would have written.
 */
export async function createJson<T>(
  store: ObjectStore,
  key: string,
  value: T,
): Promise<{ readonly created: boolean; readonly stored: T; readonly same: boolean }> {
  const body = jsonBytes(value);
  if (await store.putIfAbsent(key, body, 'application/json'))
    return { created: true, stored: value, same: true };
  const bytes = await store.get(key);
  // Deleted between the two calls (retention of this run cannot be running): write it again.
  if (!bytes) return createJson(store, key, value);
  const same = Buffer.from(bytes).equals(body);
  return { created: false, stored: same ? value : (JSON.parse(new TextDecoder().decode(bytes)) as T), same };
}

/** Stores `body` create-only (see {@link createJson}); true when it is there afterwards with these bytes. */
export async function createBytes(
  store: ObjectStore,
  key: string,
  body: Uint8Array,
  contentType: string,
): Promise<boolean> {
  if (await store.putIfAbsent(key, body, contentType)) return true;
  const bytes = await store.get(key);
  return bytes !== undefined && Buffer.from(bytes).equals(body);
}

/** The bytes a JSON document is stored as: pretty-printed, so identical content is identical bytes. */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}
