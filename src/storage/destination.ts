/** Opens the object store (S3 or local files) of a destination URL. */
import { parseDestination } from '../contract/destination-url.js';
import { FileObjectStore } from './file-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-store.js';

/** Opens the store for a destination URL (see {@link parseDestination}). */
export function openObjectStore(url: string): ObjectStore {
  const dest = parseDestination(url);
  return dest.scheme === 's3'
    ? new S3ObjectStore({ bucket: dest.bucket, prefix: dest.prefix })
    : new FileObjectStore(dest.path);
}
