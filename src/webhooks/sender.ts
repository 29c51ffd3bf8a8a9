import http from 'node:http';
import https from 'node:https';
import type { DeliveryOutcome } from './types.js';

/** One delivery attempt: the stored request, sent as it is. */
export interface DeliveryRequest {
  address: string;
  body: string;
  headers: Record<string, string>;
  /** The target's auth header, sent as Authorization. */
  authHeader?: string;
  skipCertVerify: boolean;
  timeoutMs: number;
}

/** The first bytes of an answer kept for the task record. */
export const responseExcerptBytes = 1024;
/** Beyond this much answer the connection is dropped rather than drained for reuse. */
const drainLimitBytes = 64 * 1024;

// One keep-alive pool per TLS setting, shared by every delivery: a busy receiver gets its
// connections reused instead of a handshake per event. Idle sockets are unref'd by Node's agent.
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  verified: new https.Agent({ keepAlive: true, maxSockets: 64 }),
  unverified: new https.Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false }),
};

/**
 * POSTs one rendered delivery. Never throws: no answer (refused, reset, timeout, TLS, a bad
 * address) is statusCode 0 with the error in words; ok only for a 2xx answer. Redirects are
 * not followed (a 3xx is a failed attempt, as the receiver did not take the event).
 */
export async function sendDelivery(req: DeliveryRequest): Promise<DeliveryOutcome> {
  const started = performance.now();
  let url: URL;
  try {
    url = new URL(req.address);
  } catch {
    return failed(started, `invalid address "${req.address}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return failed(started, `unsupported address scheme "${url.protocol}" (http or https)`);

  let answer = await attempt(url, req);
  // A kept-alive connection the receiver closed while idle fails at once, before the request
  // reached it; Node's documented remedy is to send again on a new connection.
  if (answer.kind === 'error' && answer.staleSocket) answer = await attempt(url, req);

  const durationMs = Math.round(performance.now() - started);
  if (answer.kind === 'error') return { ok: false, statusCode: 0, durationMs, response: answer.message };
  return { ok: answer.status >= 200 && answer.status < 300, statusCode: answer.status, durationMs, response: answer.excerpt };
}

type Answer = { kind: 'answer'; status: number; excerpt: string } | { kind: 'error'; message: string; staleSocket: boolean };

function attempt(url: URL, req: DeliveryRequest): Promise<Answer> {
  const secure = url.protocol === 'https:';
  const agent = !secure ? agents.http : req.skipCertVerify ? agents.unverified : agents.verified;
  const headers: Record<string, string> = {
    'user-agent': 'berth-webhook',
    ...req.headers,
    'content-length': String(Buffer.byteLength(req.body)),
  };
  if (req.authHeader) headers.authorization = req.authHeader;

  return new Promise<Answer>((resolve) => {
    let settled = false;
    const settle = (a: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const request = (secure ? https : http).request(url, { method: 'POST', headers, agent }, (res) => {
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let seen = 0;
      const done = () =>
        settle({
          kind: 'answer',
          status: res.statusCode ?? 0,
          excerpt: Buffer.concat(kept).subarray(0, responseExcerptBytes).toString('utf8'),
        });
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (keptBytes < responseExcerptBytes) {
          kept.push(chunk.subarray(0, responseExcerptBytes - keptBytes));
          keptBytes += Math.min(chunk.length, responseExcerptBytes - keptBytes);
        }
        if (seen > drainLimitBytes) {
          done();
          res.destroy();
        }
      });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    const timer = setTimeout(() => {
      settle({ kind: 'error', message: `no answer within ${req.timeoutMs} ms`, staleSocket: false });
      request.destroy();
    }, req.timeoutMs);
    request.on('error', (err: NodeJS.ErrnoException) => {
      const staleSocket = request.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      settle({ kind: 'error', message: describeError(err, url), staleSocket });
    });
    request.end(req.body);
  });
}

function describeError(err: NodeJS.ErrnoException, url: URL): string {
  const where = url.host;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}`;
    case 'ECONNRESET':
      return `connection reset by ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host ${url.hostname}`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${where} (${err.code})`;
    default:
      return err.code ? `${err.message} (${err.code})` : err.message;
  }
}

function failed(started: number, message: string): DeliveryOutcome {
  return { ok: false, statusCode: 0, durationMs: Math.round(performance.now() - started), response: message };
}

/** Closes the pooled connections (shutdown, tests). */
export function closeDeliveryConnections(): void {
  for (const agent of Object.values(agents)) agent.destroy();
}
