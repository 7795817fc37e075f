/** Where exported objects go: an S3 bucket prefix or a local folder, behind one small interface. */
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** Metadata of one stored object. */
export interface ObjectInfo {
  /** Key relative to the destination root (never starts with '/'). */
  readonly key: string;
  readonly size: number;
  /**
   * S3 ETag (quotes stripped; for multipart uploads it is not an MD5) or, for files, the MD5 hex
   * of the content. Treat it as an opaque tag that changes when the content changes.
   */
  readonly etag: string;
  readonly lastModified: Date;
}

/**
 * One piece of an object assembled by {@link ObjectStore.compose}: bytes [start, end) of a stored
 * object, or bytes given here.
 */
export type ComposePart =
  | { readonly copy: { readonly key: string; readonly start: number; readonly end: number } }
  | { readonly bytes: Uint8Array };

/** Object storage rooted at a destination URL (`s3://bucket/prefix` or `file:///abs/path`). */
export interface ObjectStore {
  /** The destination URL this store writes under, e.g. `s3://bucket/prefix`. */
  readonly url: string;
  /** Full URL of a key, for messages and the manifest. */
  urlOf(key: string): string;
  /** Store a whole object (replaces an existing one atomically: readers never see a partial object). */
  put(key: string, body: Uint8Array, contentType?: string): Promise<ObjectInfo>;
  /**
   * Stores a whole object only if `key` holds none yet (S3 `If-None-Match: *`; for files a link
   * into place, which fails when the name exists): `undefined` when an object was already there,
   * which is then left as it is. Of two concurrent calls exactly one creates the object. For small
   * documents that decide what a run is (its plan, markers, manifest): never a multipart upload.
   */
  putIfAbsent(key: string, body: Uint8Array, contentType?: string): Promise<ObjectInfo | undefined>;
  /**
   * Store an object from a stream of chunks (multipart upload for S3, temp file + rename for files).
   * If the source iterable throws, the upload is aborted and no object appears under `key`.
   */
  putStream(key: string, body: AsyncIterable<Uint8Array>, contentType?: string): Promise<ObjectInfo>;
  /**
   * Store an object assembled from `parts` in order, as atomically as {@link putStream}. S3 copies
   * the ranges of stored objects inside the service (UploadPartCopy), so those bytes never pass
   * through this process; a missing source object fails the call.
   */
  compose(key: string, parts: readonly ComposePart[], contentType?: string): Promise<ObjectInfo>;
  /** Read a whole object; `undefined` when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Bytes [start, end) of an object (clamped to its size); `undefined` when it does not exist. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined>;
  /** Metadata of an object; `undefined` when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /**
   * The folders directly below `prefix` (`""` or a key prefix ending with `/`), each as a prefix
   * ending with `/`, sorted: S3's common prefixes with delimiter `/`, the subfolders of a folder.
   */
  listFolders(prefix: string): Promise<string[]>;
  /** Delete keys (missing keys are fine). */
  delete(keys: readonly string[]): Promise<void>;
}

/** Largest range read at once by {@link readComposeParts}: memory stays bounded by it. */
const COMPOSE_READ_BYTES = 16 * 1024 * 1024;

/**
 * The bytes of `parts`, read from `store` range by range (at most 16 MiB at a time): how a store
 * without server-side copies composes an object, and how S3 reads the pieces too small to copy.
 */
export async function* readComposeParts(
  store: ObjectStore,
  parts: readonly ComposePart[],
): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if ('bytes' in part) {
      yield part.bytes;
      continue;
    }
    const { key, start, end } = part.copy;
    for (let at = start; at < end; at += COMPOSE_READ_BYTES) {
      const to = Math.min(end, at + COMPOSE_READ_BYTES);
      const bytes = await store.getRange(key, at, to);
      if (bytes?.length !== to - at) {
        throw new ObjectStoreError(
          `compose ${store.urlOf(key)}: bytes ${at}..${to} are missing (${bytes ? bytes.length : 'no object'})`,
          'compose',
          store.urlOf(key),
          false,
        );
      }
      yield bytes;
    }
  }
}

/** Error names (S3) and errno codes (files) that say the destination itself is missing. */
const NOT_FOUND_CODES = new Set(['NoSuchBucket', 'ENOTDIR']);
/** Error names and errno codes that say the credentials or permissions refuse the destination. */
const DENIED_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
  'AllAccessDisabled',
  'Forbidden',
  '403',
  'EACCES',
  'EPERM',
  'EROFS',
]);

/**
 * Errno codes that say the destination is full. Retryable: space may come back (another job's
 * cleanup, an operator, a grown volume), and since every write is a temp file renamed into place,
 * a failed one leaves nothing a reader sees; the retry resumes after the batches already stored.
 */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A storage operation failed. The message names the operation and the object URL, never a
 * credential. The failure type follows from the cause: a missing bucket or folder is
 * `PgParquetDestinationNotFound`, refused credentials or permissions `PgParquetDestinationDenied`
 * (both terminal), no space left `PgParquetDestinationFull` (always transient); anything else `PgParquetStorageError`, transient when `retryable` says the same
 * call could succeed later (network, throttling, 5xx).
 */
export class ObjectStoreError extends PgParquetError {
  constructor(
    message: string,
    /** The store operation, e.g. `put`, `putStream`, `list`. */
    readonly operation: string,
    /** The object (or prefix) URL the operation was about. */
    readonly url: string,
    retryable: boolean,
    /** The S3 error name or the errno code, when known (decides the failure type). */
    code?: string,
  ) {
    const type =
      code !== undefined && NOT_FOUND_CODES.has(code)
        ? ErrorType.DestinationNotFound
        : code !== undefined && DENIED_CODES.has(code)
          ? ErrorType.DestinationDenied
          : code !== undefined && FULL_CODES.has(code)
            ? ErrorType.DestinationFull
            : ErrorType.StorageError;
    const transient = type === ErrorType.DestinationFull || (type === ErrorType.StorageError && retryable);
    super(type, message, transient, {
      operation,
      url,
      ...(code === undefined ? {} : { code }),
    });
  }
}

/**
 * Throws unless `key` is a clean relative key: non-empty, no leading '/', no empty, '.' or '..'
 * segment, no NUL or other control character. The file store maps keys to paths, so this is
 * what keeps a key from escaping the destination folder; S3 applies it too so that both stores
 * accept exactly the same keys.
 */
export function assertValidKey(key: string): void {
  if (!isCleanRelativePath(key, false)) {
    throw new RangeError(
      `invalid object key ${JSON.stringify(key)}: expected a relative path like "a/b/c.parquet"`,
    );
  }
}

/** Like {@link assertValidKey} for a listing prefix, which may be empty or end with '/'. */
export function assertValidPrefix(prefix: string): void {
  if (prefix !== '' && !isCleanRelativePath(prefix, true)) {
    throw new RangeError(
      `invalid key prefix ${JSON.stringify(prefix)}: expected "" or a relative path prefix`,
    );
  }
}

function isCleanRelativePath(value: string, allowTrailingSlash: boolean): boolean {
  // Control characters break file names and log lines alike.
  if (value === '' || value.startsWith('/') || /[\0-\x1f\x7f]/.test(value)) return false;
  const segments = value.split('/');
  if (allowTrailingSlash && segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  return segments.every((s) => s !== '' && s !== '.' && s !== '..');
}

/**
 * Orders keys the way S3 lists them: by the bytes of their UTF-8 encoding (which differs from
 * JavaScript's UTF-16 order for characters outside the Basic Multilingual Plane).
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
