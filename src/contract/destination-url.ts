/**
 * Destination URLs: `s3://bucket[/prefix]` or `file:///absolute/path`. Parsed strictly, so that a
 * typo fails before any work instead of writing somewhere unexpected. Pure: the workflow refuses a
 * bad destination with this parser, and the worker opens its store with the same one.
 */
import { ErrorType, InputError } from './errors.js';

/** What a destination may look like, as said in error messages. */
const ACCEPTED_DESTINATIONS = 's3://bucket[/prefix] or file:///absolute/path';

/** A parsed destination. For `file`, `path` is the absolute folder and `prefix` is ''. */
export type Destination =
  | { readonly scheme: 's3'; readonly bucket: string; readonly prefix: string; readonly path?: undefined }
  | { readonly scheme: 'file'; readonly bucket?: undefined; readonly prefix: string; readonly path: string };

/** A destination URL that cannot be used; names the field, the value, what is accepted and why. */
export class DestinationError extends InputError {
  constructor(
    value: unknown,
    /** What exactly is wrong, e.g. "bucket names are 3 to 63 characters". */
    readonly reason: string,
  ) {
    super('destination', value, ACCEPTED_DESTINATIONS, ErrorType.InvalidDestination);
    this.message = `${this.message} (${reason})`;
    this.details.reason = reason;
  }
}

/**
 * Parses a destination URL. Throws {@link DestinationError} for relative file paths, file URLs
 * with a host, the root folder `file:///` and folders under `/proc`, `/sys` or `/dev`, other
 * schemes, empty or invalid bucket names (per the S3 naming rules), and prefixes with empty, '.'
 * or '..' segments, query strings or control characters.
 */
export function parseDestination(url: string): Destination {
  const fail = (reason: string): never => {
    throw new DestinationError(url, reason);
  };
  if (typeof url !== 'string' || url.trim() === '') fail('it is empty');
  if (/[\0-\x1f\x7f]/.test(url)) fail('it contains control characters');
  if (url !== url.trim()) fail('it has leading or trailing spaces');

  const s3 = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
  if (s3) {
    const bucket = s3[1] ?? '';
    const problem = bucketNameProblem(bucket);
    if (problem) fail(problem);
    const prefix = (s3[2] ?? '').replace(/\/+$/, '');
    if (/[?#]/.test(prefix)) fail('a prefix cannot contain "?" or "#"');
    if (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      fail('the prefix has an empty, "." or ".." segment');
    }
    return { scheme: 's3', bucket, prefix };
  }

  if (/^file:/i.test(url)) {
    const m = /^file:\/\/(?:localhost)?(\/.*)$/i.exec(url);
    if (!m) fail('a file URL needs an absolute path: file:///path (three slashes)');
    const rawPath = m?.[1] ?? '';
    if (/[?#]/.test(rawPath)) fail('a file URL cannot contain "?" or "#"');
    if (rawPath.split('/').some((s) => s === '.' || s === '..' || /^%2e(%2e)?$/i.test(s))) {
      fail('the path has a "." or ".." segment');
    }
    // As Node's fileURLToPath does, without Node: encoded separators are refused, the rest decoded.
    if (/%2f/i.test(rawPath)) fail('a file URL cannot hold an encoded "/" (%2F)');
    let path = '';
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      fail('the path has an invalid percent-encoding');
    }
    if (path.includes('\0')) fail('the path contains a NUL character');
    path = path.replace(/\/{2,}/g, '/');
    if (path.length > 1) path = path.replace(/\/+$/, '');
    const problem = systemPathProblem(path);
    if (problem) fail(problem);
    return { scheme: 'file', prefix: '', path };
  }

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  return fail(
    scheme
      ? `the scheme "${scheme}:" is not supported`
      : 'it is not a URL; a local folder is file:///absolute/path',
  );
}

/**
 * Kernel file systems that look like folders but hold no files (a write there fails or blocks
 * until the activity times out), refused with the folder itself and everything below it.
 */
const SYSTEM_FOLDERS = ['proc', 'sys', 'dev'];

/** Why `path` (absolute, normalized) cannot be a destination folder, or undefined when it can. */
function systemPathProblem(path: string): string | undefined {
  if (path === '/') return 'the root folder "/" itself cannot be a destination; accepted: a folder below it';
  const top = path.split('/')[1] ?? '';
  if (SYSTEM_FOLDERS.includes(top)) {
    return `"/${top}" is a kernel file system, not a folder for files; accepted: a folder outside ${SYSTEM_FOLDERS.map((f) => `/${f}`).join(', ')}`;
  }
  return undefined;
}

/** Why `name` is not a valid S3 general purpose bucket name, or undefined when it is. */
function bucketNameProblem(name: string): string | undefined {
  if (name === '') return 'the bucket name is empty';
  if (name.length < 3 || name.length > 63) return 'bucket names are 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'bucket names use only lowercase letters, digits, "." and "-"';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    return 'bucket names begin and end with a letter or digit';
  if (name.includes('..')) return 'bucket names cannot contain two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'bucket names cannot look like an IP address';
  for (const p of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(p)) return `bucket names cannot start with "${p}"`;
  }
  for (const s of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(s)) return `bucket names cannot end with "${s}"`;
  }
  return undefined;
}
