/**
 * `s3://bucket/prefix` destinations through the AWS SDK v3, with its standard credential chain
 * and environment (`AWS_ENDPOINT_URL_S3`, `AWS_REGION`, `AWS_PROFILE`, …). Transient failures
 * are retried by the SDK; what reaches the caller is an {@link ObjectStoreError} whose message
 * never carries a credential.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import pMap from 'p-map';
import { Upload } from '@aws-sdk/lib-storage';
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

/** Multipart part size: fixed, because a stream's length is unknown (16 MiB × 10,000 parts ≈ 156 GiB). */
const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** Parts in flight per upload: bounds memory to about (queueSize + 1) × partSize. */
const DEFAULT_QUEUE_SIZE = 2;
/** SDK attempts per request (first try included) for throttling, 5xx and network errors. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** S3's smallest part of a multipart upload (all but the last part). */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Largest range copied by one UploadPartCopy (S3 allows 5 GiB). */
const MAX_COPY_BYTES = 1024 * 1024 * 1024;
/** Parts of a composed object sent at once (copies run inside S3, so this bounds requests only). */
const COMPOSE_CONCURRENCY = 4;
/** Tries of a create-only write that S3 answers with 409 ConditionalRequestConflict (a concurrent one). */
const CONDITIONAL_ATTEMPTS = 5;
/** `DeleteObjects` accepts at most this many keys per request. */
const DELETE_BATCH = 1000;

/** Settings of the S3 client; everything left out comes from the SDK's environment and config files. */
export interface S3ClientOptions {
  /** Overrides `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`. */
  readonly endpoint?: string;
  readonly region?: string;
  /**
   * Default: per `PG_PARQUET_S3_FORCE_PATH_STYLE`, else true when an endpoint is configured (here,
   * in `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, or in the shared config file's `endpoint_url`).
   */
  readonly forcePathStyle?: boolean;
  readonly maxAttempts?: number;
}

/** Where an {@link S3ObjectStore} writes and how. */
export interface S3StoreOptions extends S3ClientOptions {
  readonly bucket: string;
  /** Key prefix without leading or trailing '/'; '' for the bucket root. */
  readonly prefix?: string;
  /** A client to use instead of the shared one built from the environment. */
  readonly client?: S3Client;
  readonly partSize?: number;
  readonly queueSize?: number;
}

/**
 * Builds an S3 client from the standard chain. Local S3 servers (MinIO) need path-style
 * addressing, so it is on whenever an endpoint is configured: given here, in the environment
 * (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`), or in the shared config file (`endpoint_url` in the
 * profile or in its `services` section), the latter as the SDK itself resolves it, on the first
 * request. `PG_PARQUET_S3_FORCE_PATH_STYLE` (`true`/`false`) overrides. Without any region setting,
 * an endpoint from the environment gets `us-east-1`, which is what MinIO and most S3-compatible
 * servers expect (with `endpoint_url` in the config file, set `region` beside it).
 */
export function createS3Client(
  options: S3ClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): S3Client {
  const ignoreConfigured = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.trim().toLowerCase() === 'true';
  const endpointConfigured = Boolean(
    options.endpoint ?? (ignoreConfigured ? undefined : env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL),
  );
  const forceEnv = env.PG_PARQUET_S3_FORCE_PATH_STYLE?.trim().toLowerCase();
  const region =
    options.region ??
    (env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpointConfigured ? 'us-east-1' : undefined));
  const explicitStyle =
    options.forcePathStyle ?? (forceEnv === 'true' ? true : forceEnv === 'false' ? false : undefined);
  const client = new S3Client({
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    forcePathStyle: explicitStyle ?? endpointConfigured,
    ...(region ? { region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // Without timeouts a dead connection would hang an activity until its heartbeat times out.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
  });
  if (explicitStyle === undefined && !endpointConfigured) pathStyleForConfiguredEndpoint(client);
  return client;
}

/**
 * Switches path-style addressing on before the first request when the SDK finds an endpoint in
 * its shared config file (`endpoint_url`; the SDK memoises the lookup). The endpoint is resolved
 * in the serialize step, after this initialize-step middleware.
 */
function pathStyleForConfiguredEndpoint(client: S3Client): void {
  let resolved: Promise<void> | undefined;
  const resolve = async () => {
    if ((await client.config.serviceConfiguredEndpoint?.()) !== undefined)
      client.config.forcePathStyle = true;
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      resolved ??= resolve();
      await resolved;
      return next(args);
    },
    { step: 'initialize', name: 'pgParquetPathStyleForConfiguredEndpoint' },
  );
}

let shared: { readonly signature: string; readonly client: S3Client } | undefined;

/**
 * One client per process for a given environment, so that activities share its connection pool
 * and resolved credentials. A changed environment (tests) yields a fresh client.
 */
function sharedS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  // The signature holds no secret: the access key id names the identity, the secret is left out.
  const signature = JSON.stringify([
    env.AWS_ENDPOINT_URL_S3,
    env.AWS_ENDPOINT_URL,
    env.AWS_REGION,
    env.AWS_DEFAULT_REGION,
    env.AWS_PROFILE,
    env.AWS_CONFIG_FILE,
    env.AWS_SHARED_CREDENTIALS_FILE,
    env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS,
    env.AWS_ACCESS_KEY_ID,
    env.PG_PARQUET_S3_FORCE_PATH_STYLE,
  ]);
  if (shared?.signature !== signature) {
    // The previous client is not destroyed: stores opened earlier may still be using it.
    shared = { signature, client: createS3Client({}, env) };
  }
  return shared.client;
}

/** An {@link ObjectStore} over an S3 bucket and key prefix. */
export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  readonly bucket: string;
  /** Key prefix without trailing '/'; '' for the bucket root. */
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.url = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    const { endpoint, region, forcePathStyle, maxAttempts } = options;
    const custom = endpoint ?? region ?? forcePathStyle ?? maxAttempts;
    this.client =
      options.client ??
      (custom === undefined
        ? sharedS3Client()
        : createS3Client({ endpoint, region, forcePathStyle, maxAttempts }));
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  }

  urlOf(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  async put(key: string, body: Uint8Array, contentType?: string): Promise<ObjectInfo> {
    const Key = this.fullKey(key);
    const res = await this.call('put', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: body,
          ContentLength: body.byteLength,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      ),
    );
    return this.written('put', key, body, res.ETag);
  }

  /**
   * A single `PutObject` with `If-None-Match: *`. MinIO and S3 answer 412 PreconditionFailed when
   * the key exists (then `undefined`); S3 answers 409 ConditionalRequestConflict while another
   * conditional write of the key is in flight, which is asked again after a pause. A 412 can also
   * follow our own first attempt whose answer was lost (the SDK retried it): callers read the
   * object back and compare, so that case counts as theirs.
   */
  async putIfAbsent(key: string, body: Uint8Array, contentType?: string): Promise<ObjectInfo | undefined> {
    const Key = this.fullKey(key);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.call('putIfAbsent', key, async () => {
        try {
          const res = await this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key,
              Body: body,
              ContentLength: body.byteLength,
              IfNoneMatch: '*',
              ...(contentType ? { ContentType: contentType } : {}),
            }),
          );
          return { etag: res.ETag };
        } catch (err) {
          const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
          if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412)
            return 'exists' as const;
          if (e.name === 'ConditionalRequestConflict' && attempt < CONDITIONAL_ATTEMPTS)
            return 'conflict' as const;
          throw err;
        }
      });
      if (outcome === 'exists') return undefined;
      if (typeof outcome === 'object') return this.written('putIfAbsent', key, body, outcome.etag);
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }

  /**
   * Multipart upload of a stream of unknown length. The producer is wrapped so that its failure
   * is recorded: such an upload is aborted (lib-storage does it, and it is retried here in case
   * that abort failed), never completed, and the producer's own error is rethrown.
   */
  async putStream(key: string, body: AsyncIterable<Uint8Array>, contentType?: string): Promise<ObjectInfo> {
    const Key = this.fullKey(key);
    let producerFailure: { readonly error: unknown } | undefined;
    async function* guarded(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of body) {
          if (chunk.byteLength > 0) yield chunk;
        }
      } catch (error) {
        producerFailure = { error };
        throw error;
      }
    }
    const stream = Readable.from(guarded(), { objectMode: true, highWaterMark: 4 });
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key,
        Body: stream,
        ...(contentType ? { ContentType: contentType } : {}),
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      stream.destroy();
      await this.abortQuietly(Key, upload.uploadId);
      if (producerFailure) throw producerFailure.error;
      throw this.failure('putStream', key, err);
    }
    if (producerFailure) {
      // Cannot happen with lib-storage 3.1169 (a failed body rejects done()), but a truncated
      // object must never stay behind if a future version ends the body quietly instead.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).catch(() => undefined);
      throw producerFailure.error;
    }
    return this.mustHead('putStream', key);
  }

  /**
   * One multipart upload whose parts are, where they can be, server-side copies of the source
   * ranges (UploadPartCopy); ranges under S3's 5 MiB part minimum are read and sent with their
   * neighbours (see {@link planComposeParts}). A failure aborts the upload: nothing appears.
   */
  async compose(key: string, parts: readonly ComposePart[], contentType?: string): Promise<ObjectInfo> {
    const Key = this.fullKey(key);
    const planned = planComposeParts(parts);
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      );
      uploadId = created.UploadId;
      const UploadId = uploadId;
      const done = await pMap(
        planned,
        async (part, i) => {
          const PartNumber = i + 1;
          if ('copy' in part) {
            const { key: source, start, end } = part.copy;
            const res = await this.client.send(
              new UploadPartCopyCommand({
                Bucket: this.bucket,
                Key,
                UploadId,
                PartNumber,
                CopySource: `${this.bucket}/${this.fullKey(source).split('/').map(encodeURIComponent).join('/')}`,
                CopySourceRange: `bytes=${start}-${end - 1}`,
              }),
            );
            return { PartNumber, ETag: res.CopyPartResult?.ETag };
          }
          const chunks: Uint8Array[] = [];
          for await (const c of readComposeParts(this, part.read)) chunks.push(c);
          const Body = Buffer.concat(chunks);
          const res = await this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key,
              UploadId,
              PartNumber,
              Body,
              ContentLength: Body.length,
            }),
          );
          return { PartNumber, ETag: res.ETag };
        },
        { concurrency: COMPOSE_CONCURRENCY },
      );
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: done },
        }),
      );
    } catch (err) {
      await this.abortQuietly(Key, uploadId);
      throw this.failure('compose', key, err);
    }
    return this.mustHead('compose', key);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const Key = this.fullKey(key);
    return this.call('get', key, async () => {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
        if (!res.Body) return new Uint8Array(0);
        return await res.Body.transformToByteArray();
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined> {
    if (end <= start) return (await this.head(key)) ? new Uint8Array(0) : undefined;
    const Key = this.fullKey(key);
    return this.call('getRange', key, async () => {
      try {
        const res = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${start}-${end - 1}` }),
        );
        if (!res.Body) return new Uint8Array(0);
        return await res.Body.transformToByteArray();
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if ((err as { name?: string }).name === 'InvalidRange') return new Uint8Array(0);
        throw err;
      }
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.fullKey(key);
    return this.call('head', key, async () => {
      try {
        const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
        return {
          key,
          size: res.ContentLength ?? 0,
          etag: stripQuotes(res.ETag),
          lastModified: res.LastModified ?? new Date(0),
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertValidPrefix(prefix);
    const root = this.prefix ? `${this.prefix}/` : '';
    const out: ObjectInfo[] = [];
    await this.call('list', prefix, async () => {
      const pages = paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: root + prefix },
      );
      for await (const page of pages) {
        for (const obj of page.Contents ?? []) {
          if (!obj.Key?.startsWith(root)) continue;
          const key = obj.Key.slice(root.length);
          // Folder markers ("a/") and keys this store could not address are not objects of ours.
          if (!isValidKey(key)) continue;
          out.push({
            key,
            size: obj.Size ?? 0,
            etag: stripQuotes(obj.ETag),
            lastModified: obj.LastModified ?? new Date(0),
          });
        }
      }
    });
    // S3 already lists in UTF-8 byte order; sorting keeps the contract for other servers too.
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async listFolders(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const root = this.prefix ? `${this.prefix}/` : '';
    const out: string[] = [];
    await this.call('list', prefix, async () => {
      const pages = paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: root + prefix, Delimiter: '/' },
      );
      for await (const page of pages) {
        for (const p of page.CommonPrefixes ?? []) {
          if (p.Prefix?.startsWith(root)) out.push(p.Prefix.slice(root.length));
        }
      }
    });
    return out.sort(compareKeys);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const full = keys.map((k) => this.fullKey(k));
    for (let i = 0; i < full.length; i += DELETE_BATCH) {
      const chunk = full.slice(i, i + DELETE_BATCH);
      const res = await this.call('delete', keys[i] ?? '', () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      // DeleteObjects reports per-key failures in the body with a 200 status: surface them.
      const errors = res.Errors ?? [];
      if (errors.length > 0) {
        const sample = errors
          .slice(0, 3)
          .map((e) => `${e.Key ?? '?'}: ${e.Code ?? 'Error'} ${e.Message ?? ''}`.trim())
          .join('; ');
        const first = errors[0];
        const retryable = errors.every((e) => e.Code === 'InternalError' || e.Code === 'SlowDown');
        throw new ObjectStoreError(
          `S3 delete in ${this.url} failed for ${errors.length} of ${chunk.length} keys: ${scrub(sample)}`,
          'delete',
          first?.Key ? `s3://${this.bucket}/${first.Key}` : this.url,
          retryable,
          first?.Code,
        );
      }
    }
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /**
   * What a single PutObject stored: its size is the body's and its ETag is in the answer (S3 reads
   * after writes consistently), so no HEAD is needed: ~10 fewer requests per run, each one a
   * round trip on the way to the next step. `lastModified` is the client's clock then. An answer
   * without an ETag (a store that does not send one) is checked with a HEAD as before.
   */
  private async written(
    operation: string,
    key: string,
    body: Uint8Array,
    etag: string | undefined,
  ): Promise<ObjectInfo> {
    if (etag === undefined) return this.mustHead(operation, key);
    return { key, size: body.byteLength, etag: stripQuotes(etag), lastModified: new Date() };
  }

  private async mustHead(operation: string, key: string): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (!info) {
      throw new ObjectStoreError(
        `S3 ${operation} ${this.urlOf(key)}: the object is missing right after it was written`,
        operation,
        this.urlOf(key),
        true,
      );
    }
    return info;
  }

  private async abortQuietly(Key: string, uploadId: string | undefined): Promise<void> {
    if (!uploadId) return;
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }),
      );
    } catch {
      // Already aborted by lib-storage (NoSuchUpload) or unreachable: a bucket lifecycle rule
      // (AbortIncompleteMultipartUpload) is the backstop for the latter.
    }
  }

  private async call<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failure(operation, key, err);
    }
  }

  /**
   * Rebuilds an SDK error from its name, status and message only. SDK exceptions can carry
   * response fields such as `StringToSign` or `AWSAccessKeyId` (SignatureDoesNotMatch), so the
   * original object is deliberately not attached as `cause`.
   */
  private failure(operation: string, key: string, err: unknown): ObjectStoreError {
    if (err instanceof ObjectStoreError) return err;
    let url: string;
    try {
      url = key === '' ? this.url : this.urlOf(key);
    } catch {
      url = this.url;
    }
    const e = (err ?? {}) as {
      name?: string;
      message?: string;
      code?: string;
      $retryable?: unknown;
      $metadata?: { httpStatusCode?: number; requestId?: string };
    };
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? 'Error';
    const details = [
      status ? `HTTP ${status}` : undefined,
      e.$metadata?.requestId && `request ${e.$metadata.requestId}`,
    ]
      .filter(Boolean)
      .join(', ');
    const message = `S3 ${operation} ${url} failed: ${name}: ${e.message ?? String(err)}${details ? ` (${details})` : ''}`;
    return new ObjectStoreError(
      scrub(message),
      operation,
      url,
      isRetryable(name, status, e),
      // A HEAD answer has no body, so its name can be generic: the status then tells.
      status !== undefined && ['Unknown', 'UnknownError', 'Error'].includes(name) ? String(status) : name,
    );
  }
}

/** One part of a composed multipart upload: a server-side copy, or pieces read and sent. */
type PlannedPart =
  | { readonly copy: { readonly key: string; readonly start: number; readonly end: number } }
  | { readonly read: readonly ComposePart[] };

/**
 * Cuts `parts` into multipart parts of at least 5 MiB (but the last): a range of 5 MiB or more is
 * copied inside S3; smaller pieces are read and sent together, topped up from the head of the
 * next range when they alone are too small, so at most ~5 MiB per small piece passes through here
 * and a read part holds at most about 10 MiB.
 */
export function planComposeParts(parts: readonly ComposePart[]): PlannedPart[] {
  const planned: PlannedPart[] = [];
  let pending: ComposePart[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pending.length > 0) planned.push({ read: pending });
    pending = [];
    pendingBytes = 0;
  };
  for (const part of parts) {
    if ('bytes' in part) {
      pending.push(part);
      pendingBytes += part.bytes.length;
      if (pendingBytes >= MIN_PART_BYTES) flush();
      continue;
    }
    let { start } = part.copy;
    const { key, end } = part.copy;
    if (pendingBytes > 0 && pendingBytes < MIN_PART_BYTES) {
      const topUp = Math.min(end - start, MIN_PART_BYTES - pendingBytes);
      pending.push({ copy: { key, start, end: start + topUp } });
      pendingBytes += topUp;
      start += topUp;
    }
    if (end - start >= MIN_PART_BYTES) {
      flush();
      for (let at = start; at < end; at += MAX_COPY_BYTES) {
        planned.push({ copy: { key, start: at, end: Math.min(end, at + MAX_COPY_BYTES) } });
      }
    } else if (end > start) {
      pending.push({ copy: { key, start, end } });
      pendingBytes += end - start;
      // A read part is sent once it is big enough, so memory holds about two minimum parts.
      if (pendingBytes >= MIN_PART_BYTES) flush();
    }
  }
  flush();
  return planned;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return (
    e?.name === 'NoSuchKey' ||
    e?.name === 'NotFound' ||
    (e?.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')
  );
}

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'ServiceUnavailable',
  'NetworkingError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  // A multipart upload vanished under us: typically a CompleteMultipartUpload that S3 carried out
  // but whose answer was lost (a reset), so that the SDK's retry of it finds no upload (404).
  // Whether the object was stored cannot be told from here; a new attempt uploads it again.
  'NoSuchUpload',
]);

function isRetryable(
  name: string,
  status: number | undefined,
  e: { code?: string; $retryable?: unknown },
): boolean {
  if (e.$retryable) return true;
  if (TRANSIENT_NAMES.has(name) || (e.code !== undefined && TRANSIENT_NAMES.has(e.code))) return true;
  // No HTTP status: usually the network (retry), unless it is a local, permanent problem.
  if (status === undefined) return !['CredentialsProviderError', 'RangeError', 'TypeError'].includes(name);
  return status >= 500 || status === 429 || status === 408;
}

function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/**
 * Removes anything credential-like from a message: the values of the credential variables and
 * signed-URL or authorization fragments. Defence in depth: SDK messages should not hold them.
 */
export function scrub(message: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = message;
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID']) {
    const value = env[name];
    if (value && value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out
    .replace(/(X-Amz-(?:Credential|Signature|Security-Token)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/((?:Credential|Signature)=)[^,\s"']+/g, '$1[redacted]')
    .replace(/\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b/g, '[redacted]');
}
