/**
 * The HTTP layer every adapter talks through: node:http/https over keep-alive agents (one
 * per TLS setting, shared by every adapter of a `RemoteConnections`), a timeout on
 * connecting and on waiting for an answer, an idle timeout on bodies (never a whole-body
 * one: blobs can be large), redirects followed for reads without the credential when they
 * leave the registry's origin, one retry of a replayable request on a keep-alive socket the
 * server had already closed, and every failure turned into a `RemoteRegistryError`.
 */
import { createHash } from 'node:crypto';
import { getMaxListeners, setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { RemoteRegistryError, type RemoteFailure } from '../types.js';

export interface TlsSettings {
  /** Accept any certificate. */
  insecure: boolean;
  /** PEM bundle trusted in addition to the system's. */
  caCertificate: string | null;
}

export interface TokenEntry {
  token: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Most agents and tokens one `RemoteConnections` keeps. */
const maxTokens = 5000;

/**
 * What adapters share across instances: keep-alive agents per TLS setting, bearer tokens
 * per (realm, service, account, scopes) until they expire, and what each registry asked
 * for on its last challenge. Adapters are cheap and short-lived (one per use); these are
 * not. `close()` ends the idle sockets (Berth's shutdown, tests) and leaves the rest usable.
 */
export class RemoteConnections {
  private readonly agents = new Map<string, http.Agent>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** Challenge learned per registry base URL and account. */
  readonly challenges = new Map<string, Challenge | 'none'>();

  constructor(private readonly maxSockets = 32) {}

  agent(url: URL, tls: TlsSettings): http.Agent {
    const secure = url.protocol === 'https:';
    const ca = tls.caCertificate ? createHash('sha256').update(tls.caCertificate).digest('hex') : '';
    const key = secure ? `https|${tls.insecure}|${ca}` : 'http';
    let agent = this.agents.get(key);
    if (!agent) {
      const common = {
        keepAlive: true,
        keepAliveMsecs: 1000,
        maxSockets: this.maxSockets,
        maxFreeSockets: 16,
        scheduling: 'lifo' as const,
      };
      agent = secure
        ? new https.Agent({
            ...common,
            rejectUnauthorized: !tls.insecure,
            ...(tls.caCertificate ? { ca: [...tlsRootCertificates(), tls.caCertificate] } : {}),
          })
        : new http.Agent(common);
      this.agents.set(key, agent);
    }
    return agent;
  }

  cachedToken(key: string): string | undefined {
    const entry = this.tokens.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return entry.token;
  }

  dropToken(key: string): void {
    this.tokens.delete(key);
  }

  /** The cached token for `key`, or the one `fetch` gets (one fetch at a time per key). */
  async token(key: string, fetch: () => Promise<TokenEntry>): Promise<string> {
    const cached = this.cachedToken(key);
    if (cached !== undefined) return cached;
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = fetch()
        .then((entry) => {
          if (this.tokens.size >= maxTokens) this.tokens.clear();
          this.tokens.set(key, entry);
          return entry.token;
        })
        .finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    return pending;
  }

  /**
   * Closes the idle kept-alive sockets and forgets tokens and challenges. Requests in flight
   * (another Berth of the same process, in tests) finish normally, and the connections stay
   * usable. Idle sockets never keep the process alive (Node unrefs them), so this only frees them.
   */
  close(): void {
    for (const agent of this.agents.values()) {
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    }
    this.tokens.clear();
    this.challenges.clear();
  }
}

/** The system's trusted CAs: an endpoint's own CA is trusted in addition to them, not instead. */
function tlsRootCertificates(): readonly string[] {
  return tls.rootCertificates;
}

/** What a registry's `WWW-Authenticate` asked for. */
export interface Challenge {
  scheme: 'bearer' | 'basic';
  realm?: string;
  service?: string;
  /** Scopes the registry named (space-separated in the header), if any. */
  scopes: string[];
  /** `error="insufficient_scope"` and the like. */
  error?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`); null for other schemes. */
export function parseChallenge(header: string | string[] | undefined): Challenge | null {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  let basic: Challenge | null = null;
  for (const value of values) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(value);
    if (!m) continue;
    const scheme = m[1].toLowerCase();
    if (scheme !== 'bearer' && scheme !== 'basic') continue;
    const params: Record<string, string> = {};
    // A name starts where a word starts: tried from inside a long word, the scan was quadratic
    // (two seconds of event loop for a 16 KiB header of letters from a remote registry).
    const re = /(?<![\w-])([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
    let p: RegExpExecArray | null;
    while ((p = re.exec(m[2])) !== null) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    const challenge: Challenge = {
      scheme,
      realm: params.realm,
      service: params.service,
      scopes: (params.scope ?? '').split(' ').filter(Boolean),
      error: params.error,
    };
    // A registry offering both is asked for a token: Bearer is what registries prefer.
    if (scheme === 'bearer') return challenge;
    basic = challenge;
  }
  return basic;
}

/** The failure an HTTP status means. 502/503/504 from a gateway: the registry behind it cannot be reached. */
export function failureOf(status: number): RemoteFailure {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'denied';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503 || status === 504) return 'unreachable';
  return 'failed';
}

const networkErrors = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
]);

/** Turns a transport error into a RemoteRegistryError (AbortError and RemoteRegistryError pass unchanged). */
export function transportError(err: unknown, what: string): Error {
  if (err instanceof RemoteRegistryError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'AbortError') return e;
  const code = e?.code ?? '';
  if (networkErrors.has(code) || /socket hang up|timeout/i.test(e?.message ?? '')) {
    return new RemoteRegistryError('unreachable', `${what}: cannot reach the registry (${code || e.message})`);
  }
  if (/CERT|SSL|TLS|self.signed|certificate/i.test(`${code} ${e?.message ?? ''}`)) {
    return new RemoteRegistryError('failed', `${what}: TLS failed (${code || e.message}); trust its CA or mark the endpoint insecure`);
  }
  return new RemoteRegistryError('failed', `${what}: ${e?.message ?? String(err)}`);
}

export interface SendOptions {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer is replayable (retried once on a stale keep-alive socket); a stream is sent once. */
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** Idle limit while connecting and waiting for the answer's headers. */
  timeoutMs: number;
  /** Idle limit while a request body is sent (and the answer to it awaited). */
  bodyTimeoutMs: number;
}

/**
 * One exchange. Resolves with the response once its headers arrive (the caller reads or
 * drains the body); rejects with a RemoteRegistryError('unreachable') on a network
 * failure or timeout, or the AbortError of `signal`.
 */
export async function send(agent: http.Agent, options: SendOptions): Promise<http.IncomingMessage> {
  const what = `${options.method} ${redacted(options.url)}`;
  // One job's signal is shared by dozens of concurrent requests (listings, parallel blobs); each
  // adds an abort listener while in flight and removes it after, so Node's warning at 10 is noise.
  if (options.signal && getMaxListeners(options.signal) < 1000) setMaxListeners(1000, options.signal);
  for (let attempt = 0; ; attempt++) {
    try {
      return await sendOnce(agent, options, what);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { reusedSocket?: boolean };
      const replayable = options.body === undefined || Buffer.isBuffer(options.body);
      if (attempt === 0 && replayable && e.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) continue;
      throw transportError(err, what);
    }
  }
}

function sendOnce(agent: http.Agent, options: SendOptions, what: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { url, body } = options;
    const headers: Record<string, string> = { 'user-agent': userAgent, ...options.headers };
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    else if (body === undefined && (options.method === 'PUT' || options.method === 'POST' || options.method === 'PATCH')) {
      headers['content-length'] ??= '0';
    }
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: options.method, headers, agent, signal: options.signal });
    let settled = false;
    const idle = body === undefined || Buffer.isBuffer(body) ? options.timeoutMs : options.bodyTimeoutMs;
    const onTimeout = () => req.destroy(new RemoteRegistryError('unreachable', `${what}: no answer within ${idle / 1000} s`));
    req.setTimeout(idle, onTimeout);
    req.once('response', (res) => {
      settled = true;
      // The body's own idle limit (if any) is the reader's to set; this one ends with the wait for headers.
      req.setTimeout(0);
      req.removeListener('timeout', onTimeout);
      resolve(res);
    });
    req.once('error', (err) => {
      if (settled) return;
      settled = true;
      (err as { reusedSocket?: boolean }).reusedSocket = req.reusedSocket;
      reject(err);
    });
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.once('error', (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

export const userAgent = 'berth-replication';

/** The URL without user info or query (tokens and upload state do not belong in logs). */
export function redacted(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Reads a (small) body whole, up to `limit` bytes. */
export async function readBody(res: http.IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.destroy();
        throw new RemoteRegistryError('failed', `${what}: the answer is larger than ${limit} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw transportError(err, what);
  }
  return Buffer.concat(chunks);
}

/** Reads and forgets a body so that the socket goes back to the pool. */
export async function drain(res: http.IncomingMessage): Promise<void> {
  // Even an empty body (HEAD, 201) must be read to its end, or the socket never goes back to the pool.
  if (res.readableEnded || res.destroyed) return;
  await new Promise<void>((resolve) => {
    res.once('end', resolve);
    res.once('error', () => resolve());
    res.once('close', () => resolve());
    res.resume();
  });
}

/** The registry's own words about a failed answer: OCI errors, Harbor's errors, or the text. */
export function errorText(body: Buffer): string {
  const text = body.toString('utf8').trim();
  if (!text) return '';
  try {
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }>; message?: string; detail?: string };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors
        .map((e) => [e.code, e.message].filter(Boolean).join(': '))
        .join('; ')
        .slice(0, 500);
    }
    if (typeof parsed.message === 'string') return parsed.message.slice(0, 500);
    if (typeof parsed.detail === 'string') return parsed.detail.slice(0, 500);
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

/** Builds the RemoteRegistryError for an answer that was not the expected one (reads its body). */
export async function statusError(res: http.IncomingMessage, what: string): Promise<RemoteRegistryError> {
  const status = res.statusCode ?? 0;
  let detail = '';
  try {
    detail = errorText(await readBody(res, 64 * 1024, what));
  } catch {
    // the status says enough
  }
  return new RemoteRegistryError(failureOf(status), `${what}: ${status}${detail ? ` ${detail}` : ''}`, status);
}

/** `<url>; rel="next"` from a Link header, resolved against `base`. */
export function nextLink(header: string | string[] | undefined, base: URL): URL | null {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
      if (m && /rel\s*=\s*"?next"?/i.test(m[2])) {
        try {
          return new URL(m[1], base);
        } catch {
          return null;
        }
      }
    }
  }
  return null;
}
