/**
 * The client side of the Pluggable Scanner API: how Berth drives a remote scanner adapter,
 * the way Harbor's own client does (src/pkg/scan/rest/v1): `<url>/api/v1/…`, the
 * registration's auth, a short timeout per request, redirects never followed (a 302 from
 * /report means "not ready"), `Refresh-After` read as Harbor reads it, and the adapter's
 * JSON error body turned into the error's message.
 */
import http from 'node:http';
import https from 'node:https';
import type { SbomMediaType } from '../types.js';
import { adapterMimeTypes, type AdapterErrorBody, type ScannerAdapterMetadata, type ScanRequest } from './spec.js';

export type ReportResult = { status: 'ready'; body: string } | { status: 'pending'; refreshAfterSeconds: number };

/** What a scanner does for Berth, wherever it runs (over HTTP, or Berth's own in-process). */
export interface AdapterClient {
  metadata(): Promise<ScannerAdapterMetadata>;
  scan(request: ScanRequest): Promise<{ id: string }>;
  report(id: string, mimeType: string, options?: { sbomMediaType?: SbomMediaType }): Promise<ReportResult>;
}

/** An adapter that could not be reached, answered an unexpected status, or sent a body that is not what the API says. */
export class ScannerAdapterError extends Error {
  constructor(
    message: string,
    /** The adapter's HTTP status, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ScannerAdapterError';
  }
}

export type ScannerAuth = '' | 'Basic' | 'Bearer' | 'APIKey';

export interface ScannerClientOptions {
  /** The registration's base URL; the API is under `<url>/api/v1`. */
  url: string;
  auth: ScannerAuth;
  accessCredential: string;
  skipCertVerify: boolean;
  /** Per request, from connecting to the last byte (Harbor: 5 s). */
  timeoutMs?: number;
  /** Largest body read (reports with an SBOM can be large). */
  maxBodyBytes?: number;
}

/** Harbor's wait when a 302 has no usable Refresh-After. */
export const defaultRefreshSeconds = 5;

/**
 * Refresh-After as Harbor parses it (strconv.ParseInt(v, 10, 8)): a decimal that fits a
 * signed byte; anything else, or no header, is the 5 s default. A negative wait is no wait.
 */
export function parseRefreshAfter(value: string | undefined): number {
  if (value === undefined || !/^[+-]?\d+$/.test(value.trim())) return defaultRefreshSeconds;
  const n = Number(value.trim());
  if (n < -128 || n > 127) return defaultRefreshSeconds;
  return Math.max(0, n);
}

/** The header a registration's auth puts on every request (Harbor's authorizers). */
export function authHeaders(auth: ScannerAuth, credential: string): Record<string, string> {
  switch (auth) {
    case '':
      return {};
    case 'Basic':
      return { authorization: `Basic ${Buffer.from(credential).toString('base64')}` };
    case 'Bearer':
      return { authorization: `Bearer ${credential}` };
    case 'APIKey':
      return { 'x-scanneradapter-api-key': credential };
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class HttpScannerClient implements AdapterClient {
  private readonly base: string;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: ScannerClientOptions) {
    this.base = `${options.url.replace(/\/+$/, '')}/api/v1`;
    const secure = this.base.startsWith('https:');
    this.agent = secure
      ? new https.Agent({ keepAlive: true, rejectUnauthorized: !options.skipCertVerify })
      : new http.Agent({ keepAlive: true });
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxBodyBytes = options.maxBodyBytes ?? 256 * 1024 * 1024;
  }

  async metadata(): Promise<ScannerAdapterMetadata> {
    const answer = await this.send('GET', '/metadata', { accept: adapterMimeTypes.metadata });
    return this.json(this.expect(answer, 200), 'get metadata') as ScannerAdapterMetadata;
  }

  async scan(request: ScanRequest): Promise<{ id: string }> {
    const answer = await this.send(
      'POST',
      '/scan',
      { accept: adapterMimeTypes.scanResponse, 'content-type': adapterMimeTypes.scanRequest },
      JSON.stringify(request),
    );
    const body = this.json(this.expect(answer, 202), 'submit scan') as { id?: unknown };
    if (typeof body?.id !== 'string' || body.id === '')
      throw new ScannerAdapterError('submit scan: the adapter answered 202 without a scan id', 202);
    return { id: body.id };
  }

  async report(id: string, mimeType: string, options: { sbomMediaType?: SbomMediaType } = {}): Promise<ReportResult> {
    if (id === '') throw new ScannerAdapterError('empty scan request ID');
    const query = options.sbomMediaType ? `?sbom_media_type=${encodeURIComponent(options.sbomMediaType)}` : '';
    const answer = await this.send('GET', `/scan/${encodeURIComponent(id)}/report${query}`, { accept: mimeType });
    if (answer.status === 302) {
      const header = answer.headers['refresh-after'];
      return { status: 'pending', refreshAfterSeconds: parseRefreshAfter(Array.isArray(header) ? header[0] : header) };
    }
    return { status: 'ready', body: this.expect(answer, 200) };
  }

  /** The body when the status is the expected one; otherwise the adapter's error, as Harbor words it. */
  private expect(answer: Answer, expected: number): string {
    if (answer.status === expected) return answer.body;
    const suffix = `unexpected status code: ${answer.status}, expected: ${expected}`;
    if (answer.body.length === 0) throw new ScannerAdapterError(suffix, answer.status);
    let parsed: AdapterErrorBody | undefined;
    try {
      parsed = JSON.parse(answer.body) as AdapterErrorBody;
    } catch {
      throw new ScannerAdapterError(`${suffix}; the body is not JSON: ${excerpt(answer.body)}`, answer.status);
    }
    const message = typeof parsed?.error?.message === 'string' ? parsed.error.message : excerpt(answer.body);
    throw new ScannerAdapterError(`${message}: ${suffix}`, answer.status);
  }

  private json(body: string, what: string): unknown {
    try {
      return JSON.parse(body);
    } catch {
      throw new ScannerAdapterError(`${what}: the adapter's answer is not JSON: ${excerpt(body)}`);
    }
  }

  private send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
    const url = new URL(this.base + path);
    const lib = url.protocol === 'https:' ? https : http;
    const all: Record<string, string> = { ...headers, ...authHeaders(this.options.auth, this.options.accessCredential) };
    if (body !== undefined) all['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Answer>((resolve, reject) => {
      const fail = (err: Error) => reject(new ScannerAdapterError(`cannot reach the scanner adapter at ${url.origin}: ${err.message}`));
      const req = lib.request(url, { method, headers: all, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxBodyBytes) {
            req.destroy(new Error(`the answer is larger than ${this.maxBodyBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', fail);
      });
      // Harbor's 5 s covers the whole exchange; a silent adapter is given up on.
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', fail);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/** The name the design notes use for the HTTP client. */
export { HttpScannerClient as ScannerClient };
