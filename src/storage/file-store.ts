/**
 * `file:///abs/path` destinations: a local (or mounted) folder that looks like an S3 prefix.
 *
 * Writes go to a temp file in the target's own directory, are fsynced, then renamed over the
 * target, so a reader sees either the old object or the whole new one, and a crash leaves at
 * most a temp file (which `list` never reports).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Dirent, type Stats } from 'node:fs';
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rmdir,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assertValidKey,
  assertValidPrefix,
  compareKeys,
  ObjectStoreError,
  readComposeParts,
  type ComposePart,
  type ObjectInfo,
  type ObjectStore,
} from './object-store.js';

/**
 * Temp files start with this (a name no key segment produced by `keys.ts` can have) and end with
 * {@link TEMP_SUFFIX}: hidden from Spark, Hive and pyarrow (a leading `.`), and never matched by
 * a `*.parquet` glob (DuckDB's and Polars' globs match dot files).
 */
const TEMP_PREFIX = '.pgpq-tmp-';
const TEMP_SUFFIX = '.tmp';

/** ENOENT and friends: the path (or one of its parents) is not there, or is not a file. */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** Errno codes that a later attempt may not hit (busy device, full queue, interrupted call). */
const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'EIO', 'ETIMEDOUT']);

interface CachedTag {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
}

/** An {@link ObjectStore} over a local folder; keys map to relative paths with '/' separators. */
export class FileObjectStore implements ObjectStore {
  /** `file:` URL of the root folder (percent-encoded, no trailing slash). */
  readonly url: string;
  /** Absolute path of the root folder. */
  readonly root: string;
  /**
   * MD5 tags of files this process wrote or hashed, keyed by path and checked against inode,
   * size and mtime, so that `head` and `list` do not re-read files to report their etag.
   */
  private readonly tags = new Map<string, CachedTag>();

  /** @param root absolute path of the destination folder (created on first write). */
  constructor(root: string) {
    if (!path.isAbsolute(root)) throw new RangeError(`FileObjectStore needs an absolute path, got ${root}`);
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href.replace(/\/+$/, '');
  }

  urlOf(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  async put(key: string, body: Uint8Array, _contentType?: string): Promise<ObjectInfo> {
    return this.writeAtomically('put', key, async (handle, hash) => {
      hash.update(body);
      await writeAll(handle, body);
      return body.byteLength;
    });
  }

  /**
   * Link into place: the temp file is written and fsynced as for `put`, then hard-linked to the
   * target name, which fails with EEXIST when the name exists (atomic on local file systems and
   * NFS), and unlinked. A reader never sees a partial document, and of two writers one wins.
   */
  async putIfAbsent(key: string, body: Uint8Array, _contentType?: string): Promise<ObjectInfo | undefined> {
    return this.writeAtomically(
      'putIfAbsent',
      key,
      async (handle, hash) => {
        hash.update(body);
        await writeAll(handle, body);
        return body.byteLength;
      },
      'link',
    );
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, _contentType?: string): Promise<ObjectInfo> {
    return this.writeAtomically('putStream', key, async (handle, hash) => {
      const source = body[Symbol.asyncIterator]();
      let size = 0;
      let finished = false;
      try {
        for (;;) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await source.next();
          } catch (err) {
            finished = true; // a throwing iterator is done; do not call return() on it
            throw new SourceFailure(err);
          }
          if (next.done) {
            finished = true;
            return size;
          }
          hash.update(next.value);
          await writeAll(handle, next.value);
          size += next.value.byteLength;
        }
      } finally {
        // Our own write failed: stop the producer so it releases what it holds.
        if (!finished) await source.return?.().catch(() => undefined);
      }
    });
  }

  /** Copies the ranges through this process: on a local disk that costs about what a copy does. */
  compose(key: string, parts: readonly ComposePart[], contentType?: string): Promise<ObjectInfo> {
    return this.putStream(key, readComposeParts(this, parts), contentType);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const file = this.pathOf(key);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (MISSING.has(errnoCode(err))) return undefined;
      throw this.failure('get', key, err);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined> {
    const file = this.pathOf(key);
    let handle: FileHandle | undefined;
    try {
      handle = await open(file, 'r');
      const size = (await handle.stat()).size;
      const from = Math.min(Math.max(0, start), size);
      const length = Math.max(0, Math.min(end, size) - from);
      const out = new Uint8Array(length);
      let read = 0;
      while (read < length) {
        const r = await handle.read(out, read, length - read, from + read);
        if (r.bytesRead === 0) break;
        read += r.bytesRead;
      }
      return out.subarray(0, read);
    } catch (err) {
      if (MISSING.has(errnoCode(err))) return undefined;
      throw this.failure('getRange', key, err);
    } finally {
      await handle?.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key);
    let st: Stats;
    try {
      st = await stat(file);
    } catch (err) {
      if (MISSING.has(errnoCode(err))) return undefined;
      throw this.failure('head', key, err);
    }
    if (!st.isFile()) return undefined;
    try {
      return { key, size: st.size, etag: await this.etagOf(file, st), lastModified: st.mtime };
    } catch (err) {
      // Deleted between stat and read: it is gone now, which is what a later head would say.
      if (MISSING.has(errnoCode(err))) return undefined;
      throw this.failure('head', key, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    // Walk only below the deepest folder the prefix names: `a/b/c` can only match under `a/b`.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash < 0 ? '' : prefix.slice(0, slash);
    const found: { key: string; file: string }[] = [];
    try {
      await this.walk(baseKey, prefix, found);
    } catch (err) {
      throw this.failure('list', prefix, err);
    }
    found.sort((a, b) => compareKeys(a.key, b.key));
    const out: ObjectInfo[] = [];
    for (const { key, file } of found) {
      try {
        const st = await stat(file);
        out.push({ key, size: st.size, etag: await this.etagOf(file, st), lastModified: st.mtime });
      } catch (err) {
        // Deleted while listing: S3 would not list it either.
        if (MISSING.has(errnoCode(err))) continue;
        throw this.failure('list', key, err);
      }
    }
    return out;
  }

  async listFolders(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    if (prefix !== '' && !prefix.endsWith('/')) return [];
    const dir = prefix === '' ? this.root : path.join(this.root, ...prefix.slice(0, -1).split('/'));
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (MISSING.has(errnoCode(err))) return [];
      throw this.failure('list', prefix, err);
    }
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith(TEMP_PREFIX))
      .map((e) => `${prefix}${e.name}/`)
      .sort(compareKeys);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const file = this.pathOf(key);
      try {
        await unlink(file);
      } catch (err) {
        if (!MISSING.has(errnoCode(err))) throw this.failure('delete', key, err);
      }
      this.tags.delete(file);
      await this.pruneEmptyParents(file);
    }
  }

  /** Absolute path of a key; refuses keys that could leave the root. */
  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  /**
   * Writes through `fill` into a fresh temp file beside the target, fsyncs it, renames it over
   * the target (or, with `publish` "link", links it to the target name unless that exists: then
   * `undefined`) and fsyncs the folder. Any failure (including the source iterable throwing)
   * removes the temp file and rethrows the original error.
   */
  private async writeAtomically(
    operation: string,
    key: string,
    fill: (handle: FileHandle, hash: ReturnType<typeof createHash>) => Promise<number>,
  ): Promise<ObjectInfo>;
  private async writeAtomically(
    operation: string,
    key: string,
    fill: (handle: FileHandle, hash: ReturnType<typeof createHash>) => Promise<number>,
    publish: 'link',
  ): Promise<ObjectInfo | undefined>;
  private async writeAtomically(
    operation: string,
    key: string,
    fill: (handle: FileHandle, hash: ReturnType<typeof createHash>) => Promise<number>,
    publish: 'rename' | 'link' = 'rename',
  ): Promise<ObjectInfo | undefined> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    const temp = path.join(
      dir,
      `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${path.basename(target)}${TEMP_SUFFIX}`,
    );
    let handle: FileHandle;
    try {
      handle = await openFresh(dir, temp);
    } catch (err) {
      throw this.failure(operation, key, err);
    }
    const hash = createHash('md5');
    let size: number;
    try {
      try {
        size = await fill(handle, hash);
        // Durable before visible: the rename must never publish data still in the page cache.
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (publish === 'rename') await rename(temp, target);
      else {
        try {
          await link(temp, target);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
          await unlink(temp).catch(() => undefined);
          return undefined;
        }
        // The document is in place: a temp name left behind is hidden and harmless.
        await unlink(temp).catch(() => undefined);
      }
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      // Errors of the caller's source iterable are the caller's: rethrow them unchanged.
      if (err instanceof SourceFailure) throw err.error;
      throw this.failure(operation, key, err);
    }
    await syncDir(dir);
    const etag = hash.digest('hex');
    const st = await stat(target);
    this.tags.set(target, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, etag });
    if (st.size !== size) {
      // Someone replaced the file right after our rename; report what is there now.
      return { key, size: st.size, etag: await this.etagOf(target, st), lastModified: st.mtime };
    }
    return { key, size, etag, lastModified: st.mtime };
  }

  private async etagOf(file: string, st: Stats): Promise<string> {
    const cached = this.tags.get(file);
    if (cached && cached.ino === st.ino && cached.size === st.size && cached.mtimeMs === st.mtimeMs) {
      return cached.etag;
    }
    const hash = createHash('md5');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const etag = hash.digest('hex');
    this.tags.set(file, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, etag });
    return etag;
  }

  private async walk(dirKey: string, prefix: string, out: { key: string; file: string }[]): Promise<void> {
    const dir = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'));
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (MISSING.has(errnoCode(err))) return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        // Descend only where keys can still match the prefix.
        const asPrefix = `${key}/`;
        if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) await this.walk(key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push({ key, file: path.join(dir, entry.name) });
      }
    }
  }

  /** Removes folders left empty by a delete (S3 has no folders), up to but excluding the root. */
  private async pruneEmptyParents(file: string): Promise<void> {
    let dir = path.dirname(file);
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty, already gone, or not ours to remove
      }
      dir = path.dirname(dir);
    }
  }

  private failure(operation: string, key: string, err: unknown): ObjectStoreError {
    const code = errnoCode(err);
    const message = err instanceof Error ? err.message : String(err);
    let url: string;
    try {
      url = key === '' ? this.url : this.urlOf(key);
    } catch {
      url = this.url;
    }
    const failure = new ObjectStoreError(
      `file store ${operation} ${url} failed: ${message}`,
      operation,
      url,
      TRANSIENT.has(code),
      code || undefined,
    );
    failure.cause = err;
    return failure;
  }
}

/** Carries an error thrown by the caller's source iterable through the store's own error handling. */
class SourceFailure extends Error {
  constructor(readonly error: unknown) {
    super('the source iterable failed');
  }
}

/**
 * Creates the folder and opens the temp file exclusively. A concurrent `delete` may prune the
 * freshly created folder before the open, so ENOENT is retried a few times.
 */
async function openFresh(dir: string, temp: string): Promise<FileHandle> {
  for (let attempt = 0; ; attempt++) {
    await makeFolders(dir);
    try {
      return await open(temp, 'wx', 0o644);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

/**
 * `mkdir -p`. Node's recursive mkdir reports ENOENT when a folder cannot be created for another
 * reason (a read-only file system, EROFS); then the folders are created one by one, which
 * surfaces the real errno (EROFS, EACCES, EPERM, ENOTDIR) and so the right failure type.
 */
async function makeFolders(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    return;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const missing: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    const exists = await stat(d).then(
      () => true,
      () => false,
    );
    if (exists || path.dirname(d) === d) break;
    missing.unshift(d);
  }
  for (const d of missing) {
    await mkdir(d).catch((err: unknown) => {
      if (errnoCode(err) !== 'EEXIST') throw err;
    });
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Makes the rename durable. Some file systems refuse fsync on folders; the data is synced anyway. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;
}

function errnoCode(err: unknown): string {
  return isErrno(err) ? (err.code ?? '') : '';
}
