/** Shared set-up of integration tests: the local stack, a database client, S3 listing and download. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DeleteObjectsCommand, GetObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { ensureLocalStack } from '../../src/cli/local-stack.js';

/** Starts the local stack if needed and returns its settings (also copied into process.env). */
export function stack(): Record<string, string> {
  return ensureLocalStack({ quiet: true });
}

/** A connected pg client on DATABASE_URL. */
export async function database(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  return client;
}

/** An S3 client for the local MinIO, independent of the code under test. */
export function s3(): S3Client {
  return new S3Client({ forcePathStyle: true, region: process.env.AWS_REGION ?? 'us-east-1' });
}

/** The demo bucket of the local stack. */
export function bucket(): string {
  return process.env.PG_PARQUET_DEMO_BUCKET ?? 'pg-parquet-demo';
}

/** A unique destination prefix in the local bucket. */
export function uniquePrefix(name: string): string {
  return `tests/${name}-${randomUUID().slice(0, 8)}`;
}

/** Every object under a prefix: key (relative to the prefix) → ETag. */
export async function listObjects(client: S3Client, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket(), Prefix: `${prefix}/` })) {
    for (const o of page.Contents ?? []) out.set(o.Key!.slice(prefix.length + 1), o.ETag ?? '');
  }
  return out;
}

/** Downloads one object. */
export async function getObject(client: S3Client, key: string): Promise<Uint8Array> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  return r.Body!.transformToByteArray();
}

/** Downloads objects into a fresh temp folder; returns the local paths in the same order. */
export async function download(client: S3Client, keys: readonly string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-parquet-test-'));
  const paths: string[] = [];
  for (const [i, key] of keys.entries()) {
    const path = join(dir, `${String(i).padStart(6, '0')}.parquet`);
    writeFileSync(path, await getObject(client, key));
    paths.push(path);
  }
  return paths;
}

/** Deletes the given keys. */
export async function deleteObjects(client: S3Client, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await client.send(
    new DeleteObjectsCommand({ Bucket: bucket(), Delete: { Objects: keys.map((Key) => ({ Key })) } }),
  );
}

/** Every object under a prefix: key (relative to the prefix) → `ETag@LastModified`, to detect rewrites. */
export async function objectVersions(client: S3Client, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket(), Prefix: `${prefix}/` })) {
    for (const o of page.Contents ?? []) {
      out.set(o.Key!.slice(prefix.length + 1), `${o.ETag ?? ''}@${o.LastModified?.toISOString() ?? ''}`);
    }
  }
  return out;
}
