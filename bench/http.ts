import http from 'node:http';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  /** A small body sent whole. */
  body?: Buffer | string;
  /** A large body streamed chunk by chunk (with backpressure); give its length in headers. */
  stream?: Iterable<Buffer>;
  /** Read the response body and throw it away (counting bytes) instead of keeping it. */
  discard?: boolean;
  timeoutMs?: number;
}

/** A minimal keep-alive HTTP/1.1 client for one registry. */
export class Client {
  readonly agent: http.Agent;

  constructor(
    readonly base: string,
    /** Authorization header value sent with every request, if any. */
    readonly authorization?: string,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  url(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.base);
  }

  request(method: string, pathOrUrl: string, options: RequestOptions = {}): Promise<Response & { bytes: number }> {
    const url = this.url(pathOrUrl);
    const headers: Record<string, string | number> = { ...options.headers };
    if (this.authorization) headers.authorization = this.authorization;
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.byteLength;
          if (!options.discard) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(options.timeoutMs ?? 120_000, () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
      if (options.stream) {
        const it = options.stream[Symbol.iterator]();
        const pump = () => {
          for (;;) {
            const next = it.next();
            if (next.done) {
              req.end();
              return;
            }
            if (!req.write(next.value)) {
              req.once('drain', pump);
              return;
            }
          }
        };
        pump();
      } else {
        req.end(options.body);
      }
    });
  }

  /** Like request, but throws unless the status is one of `expected`. */
  async expect(expected: number[], method: string, pathOrUrl: string, options: RequestOptions = {}) {
    const res = await this.request(method, pathOrUrl, options);
    if (!expected.includes(res.status)) {
      throw new Error(`${method} ${pathOrUrl} on ${this.base}: HTTP ${res.status} (wanted ${expected.join('/')}): ${res.body.toString('utf8').slice(0, 300)}`);
    }
    return res;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `count` jobs with at most `concurrency` in flight; stops early (and says so) at the deadline. */
export async function pool(
  count: number,
  concurrency: number,
  deadline: number,
  job: (i: number) => Promise<void>,
): Promise<{ done: number; timedOut: boolean }> {
  let next = 0;
  let done = 0;
  let timedOut = false;
  const worker = async () => {
    while (next < count) {
      if (Date.now() > deadline) {
        timedOut = true;
        return;
      }
      const i = next++;
      await job(i);
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { done, timedOut };
}
