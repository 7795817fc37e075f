/** Where exported objects go: an S3 bucket prefix or a local folder, behind one small interface. */

/** Metadata of one stored object. */
export interface ObjectInfo {
  /** Key relative to the destination root (never starts with '/'). */
  readonly key: string;
  readonly size: number;
  /** S3 ETag (quotes stripped) or, for files, a content hash / mtime-derived tag. */
  readonly etag: string;
  readonly lastModified: Date;
}

/** Object storage rooted at a destination URL (`s3://bucket/prefix` or `file:///abs/path`). */
export interface ObjectStore {
  /** The destination URL this store writes under, e.g. `s3://bucket/prefix`. */
  readonly url: string;
  /** Full URL of a key, for messages and the manifest. */
  urlOf(key: string): string;
  /** Store a whole object (replaces an existing one atomically: readers never see a partial object). */
  put(key: string, body: Uint8Array, contentType?: string): Promise<ObjectInfo>;
  /**
   * Store an object from a stream of chunks (multipart upload for S3, temp file + rename for files).
   * If the source iterable throws, the upload is aborted and no object appears under `key`.
   */
  putStream(key: string, body: AsyncIterable<Uint8Array>, contentType?: string): Promise<ObjectInfo>;
  /** Read a whole object; `undefined` when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Metadata of an object; `undefined` when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Delete keys (missing keys are fine). */
  delete(keys: readonly string[]): Promise<void>;
}
