/**
 * A loopback-only HTTP proxy in front of the local S3 server (MinIO) that injects a bounded
 * number of faults, then forwards everything unchanged. Requests are passed through with their
 * own Host header, so SigV4 signatures made for the proxy's address still verify upstream.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a faulty request gets: an S3-style `503 ServiceUnavailable`, or a TCP reset. */
export type S3Fault = '503' | 'reset';

/** One request the proxy saw. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query as sent (keys URL-encoded). */
  readonly path: string;
  /** The SigV4 signature of the request, when signed. */
  readonly signature: string | undefined;
  /** Whether this request got the fault instead of being forwarded. */
  readonly faulted: boolean;
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

const UNAVAILABLE = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>' +
    '<Message>injected by the test proxy</Message></Error>',
);

/** Starts a proxy on 127.0.0.1 (a free port). */
export async function startFaultyS3Proxy(options: FaultyS3ProxyOptions): Promise<FaultyS3Proxy> {
  if (!Number.isInteger(options.count) || options.count < 0) throw new RangeError('count: an integer ≥ 0');
  const upstream = new URL(options.upstream);
  const agent = new http.Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];
  let toSkip = options.skip ?? 0;
  let faultsLeft = options.count;
  let slowAfter = options.latency?.after ?? 0;

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const signature = /Signature=([0-9a-f]+)/.exec(req.headers.authorization ?? '')?.[1];
    let faulted = false;
    if (faultsLeft > 0 && (options.match?.({ method, path }) ?? true)) {
      if (toSkip > 0) toSkip--;
      else {
        faultsLeft--;
        faulted = true;
      }
    }
    requests.push({ method, path, signature, faulted });

    if (faulted) {
      // Take the whole request first, so the client sees the fault as the answer, not a write error.
      req.resume();
      req.on('end', () => {
        if (options.fault === 'reset') {
          req.socket.resetAndDestroy();
          return;
        }
        res.writeHead(503, {
          'content-type': 'application/xml',
          'content-length': UNAVAILABLE.length,
          'x-amz-request-id': 'faulty-proxy',
        });
        res.end(UNAVAILABLE);
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
        const back: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(up.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) back[name] = value;
        }
        res.writeHead(up.statusCode ?? 502, back);
        up.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
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
}): Promise<SlowS3Proxy> {
  let slowing = true;
  const proxy = await startFaultyS3Proxy({
    upstream: process.env.AWS_ENDPOINT_URL_S3 ?? 'http://127.0.0.1:9000',
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
