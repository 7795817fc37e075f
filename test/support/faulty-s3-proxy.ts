/**
 * A loopback-only HTTP proxy in front of the local S3 server (MinIO) that injects a bounded
 * number of faults, then forwards everything unchanged. Requests are passed through with their
 * own Host header, so SigV4 signatures made for the proxy's address still verify upstream.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What a faulty request gets: an S3-style `503 ServiceUnavailable` or `500 InternalError` (XML
 * error body, nothing forwarded), a TCP reset before anything is forwarded, or `answer-lost`: the
 * request is forwarded and done upstream, then the connection is reset before the answer
 * reaches the client (which so cannot tell whether it happened).
 */
export type S3Fault = '503' | '500' | 'reset' | 'answer-lost';

/** One request the proxy saw. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query as sent (keys URL-encoded). */
  readonly path: string;
  /** The SigV4 signature of the request, when signed. */
  readonly signature: string | undefined;
  /** Whether this request got a fault (instead of, or for `answer-lost` after, being forwarded). */
  readonly faulted: boolean;
  /** Which fault, when faulted. */
  readonly fault?: S3Fault;
}

export interface FaultyS3ProxyOptions {
  /** Where good requests go, e.g. `http://127.0.0.1:9000`. */
  readonly upstream: string;
  readonly fault: S3Fault;
  /** How many requests get the fault (then every request is forwarded). 0 = a plain proxy. */
  readonly count: number;
  /** Which requests may get the fault (default: every request). */
  readonly match?: (request: { readonly method: string; readonly path: string }) => boolean;
  /** Matching requests forwarded before the first fault (default 0). */
  readonly skip?: number;
  /**
   * Decides per request instead of `fault`/`count`/`match`/`skip`: the fault it gets, or
   * undefined to forward it (see {@link startFlakyS3Proxy}).
   */
  readonly pick?: (request: { readonly method: string; readonly path: string }) => S3Fault | undefined;
  /**
   * Slows requests down instead of failing them: each request that `match` accepts (after the
   * first `after` of them) is held `ms` before it is forwarded. Lets a test act in the middle of a
   * run however fast the machine is.
   */
  readonly latency?: {
    readonly ms: number;
    readonly match: (request: { readonly method: string; readonly path: string }) => boolean;
    readonly after?: number;
  };
}

export interface FaultyS3Proxy {
  /** The proxy's endpoint, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/** Headers that belong to one hop and are not forwarded as they are. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'expect', 'upgrade', 'te']);

/** The S3 error answers the proxy makes up: status and XML body. */
const ERROR_ANSWERS = {
  '503': { status: 503, body: s3ErrorBody('ServiceUnavailable') },
  '500': { status: 500, body: s3ErrorBody('InternalError') },
} as const;

function s3ErrorBody(code: string): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
      '<Message>injected by the test proxy</Message></Error>',
  );
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Starts a proxy on 127.0.0.1 (a free port). */
export async function startFaultyS3Proxy(options: FaultyS3ProxyOptions): Promise<FaultyS3Proxy> {
  if (!Number.isInteger(options.count) || options.count < 0) throw new RangeError('count: an integer ≥ 0');
  const upstream = new URL(options.upstream);
  // A test proxy never forwards (signed requests) anywhere but to a server on this machine.
  if (!LOOPBACK.has(upstream.hostname))
    throw new RangeError(`upstream must be loopback: ${upstream.hostname}`);
  const agent = new http.Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];
  let toSkip = options.skip ?? 0;
  let faultsLeft = options.count;
  let slowAfter = options.latency?.after ?? 0;

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const signature = /Signature=([0-9a-f]+)/.exec(req.headers.authorization ?? '')?.[1];
    let fault: S3Fault | undefined;
    if (options.pick) fault = options.pick({ method, path });
    else if (faultsLeft > 0 && (options.match?.({ method, path }) ?? true)) {
      if (toSkip > 0) toSkip--;
      else {
        faultsLeft--;
        fault = options.fault;
      }
    }
    requests.push({ method, path, signature, faulted: fault !== undefined, ...(fault ? { fault } : {}) });

    if (fault !== undefined && fault !== 'answer-lost') {
      const answer = fault === 'reset' ? undefined : ERROR_ANSWERS[fault];
      // Take the whole request first, so the client sees the fault as the answer, not a write error.
      req.resume();
      req.on('end', () => {
        if (answer === undefined) {
          req.socket.resetAndDestroy();
          return;
        }
        res.writeHead(answer.status, {
          'content-type': 'application/xml',
          'content-length': answer.body.length,
          'x-amz-request-id': 'faulty-proxy',
        });
        res.end(answer.body);
      });
      return;
    }

    const latency = options.latency;
    let delay = 0;
    if (latency?.match({ method, path })) {
      if (slowAfter > 0) slowAfter--;
      else delay = latency.ms;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method, path, headers, agent },
      (up) => {
        if (fault === 'answer-lost') {
          // Done upstream; the client never hears of it.
          up.resume();
          up.on('end', () => req.socket.resetAndDestroy());
          return;
        }
        const back: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(up.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) back[name] = value;
        }
        res.writeHead(up.statusCode ?? 502, back);
        up.pipe(res);
      },
    );
    // The upstream is down or cut the connection: the client sees its connection cut too, as it
    // would talking to the server directly (not a 502 no S3 server sends for this).
    forward.on('error', () => req.socket.destroy());
    if (delay > 0) {
      req.pause();
      setTimeout(() => req.pipe(forward), delay);
    } else req.pipe(forward);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

/** A proxy that only slows requests down, and can be told to stop doing so. */
export interface SlowS3Proxy extends FaultyS3Proxy {
  /** Forwards every later request at once. */
  speedUp(): void;
}

/**
 * A proxy in front of the local S3 server that holds each PUT whose (URL-encoded) path matches
 * `path`, after the first `after` of them, `ms` before forwarding it: a worker behind it stores
 * batches or data files slowly, so that a test's fault lands mid-phase however fast the machine.
 */
export async function startSlowS3Proxy(options: {
  readonly path: RegExp;
  readonly ms: number;
  readonly after: number;
  /** Default: the local S3 server (AWS_ENDPOINT_URL_S3). */
  readonly upstream?: string;
}): Promise<SlowS3Proxy> {
  let slowing = true;
  const proxy = await startFaultyS3Proxy({
    upstream: options.upstream ?? process.env.AWS_ENDPOINT_URL_S3 ?? 'http://127.0.0.1:9000',
    fault: '503',
    count: 0,
    latency: {
      ms: options.ms,
      after: options.after,
      match: (r) => slowing && r.method === 'PUT' && options.path.test(decodeURIComponent(r.path)),
    },
  });
  return {
    get url() {
      return proxy.url;
    },
    get requests() {
      return proxy.requests;
    },
    close: () => proxy.close(),
    speedUp() {
      slowing = false;
    },
  };
}

/** A proxy that faults a seeded share of all requests; `injected` counts the faults per kind. */
export interface FlakyS3Proxy extends FaultyS3Proxy {
  readonly injected: Readonly<Record<S3Fault, number>>;
}

/**
 * A proxy in front of `upstream` (default: the local S3 server) that gives each request, with
 * probability `rate` drawn from a PRNG seeded with `seed` (so a failing run can be replayed), a
 * fault, taking the kinds of `faults` in turn (so that every kind occurs once there are as many
 * faults as kinds), and at most `max` faults in all (so that the SDK's and Temporal's retries
 * always end).
 */
export async function startFlakyS3Proxy(options: {
  readonly upstream?: string;
  readonly rate: number;
  readonly seed: number;
  readonly max: number;
  readonly faults: readonly S3Fault[];
}): Promise<FlakyS3Proxy> {
  if (!(options.rate > 0 && options.rate < 1)) throw new RangeError('rate: a probability in (0, 1)');
  if (options.faults.length === 0) throw new RangeError('faults: at least one kind');
  const random = mulberry32(options.seed);
  const injected: Record<S3Fault, number> = { '503': 0, '500': 0, reset: 0, 'answer-lost': 0 };
  let total = 0;
  const proxy = await startFaultyS3Proxy({
    upstream: options.upstream ?? process.env.AWS_ENDPOINT_URL_S3 ?? 'http://127.0.0.1:9000',
    fault: '503',
    count: 0,
    pick: () => {
      if (total >= options.max || random() >= options.rate) return undefined;
      const fault = options.faults[total % options.faults.length]!;
      total++;
      injected[fault]++;
      return fault;
    },
  });
  return { ...proxy, injected };
}

/** A small seeded PRNG (mulberry32): uniform numbers in [0, 1), the same sequence for a seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
