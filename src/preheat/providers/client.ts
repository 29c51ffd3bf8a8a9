import http from 'node:http';
import https from 'node:https';
import type { AuthMode } from '../types.js';

/** A provider call that failed: unreachable, refused, or answered with an error status. */
export class ProviderError extends Error {
  constructor(
    message: string,
    /** The HTTP status the provider answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface ProviderAnswer {
  status: number;
  body: string;
}

export interface ProviderClientOptions {
  authMode: AuthMode;
  authInfo: Record<string, string>;
  /** Accept any TLS certificate (the instance's `insecure`). */
  insecure: boolean;
  /** The whole exchange, as Harbor's provider client (30 s). */
  timeoutMs?: number;
}

/**
 * The authorization headers of an instance's auth mode (Harbor's auth handlers): BASIC sends
 * the username and password, OAUTH a Bearer token (Dragonfly's personal access token), CUSTOM
 * its one header as given, NONE nothing. Throws when the mode's data is missing.
 */
export function authHeaders(mode: AuthMode, info: Record<string, string>): Record<string, string> {
  switch (mode) {
    case 'NONE':
      return {};
    case 'BASIC': {
      if (!info.username || info.password === undefined) throw new ProviderError('missing username and/or password');
      return { authorization: `Basic ${Buffer.from(`${info.username}:${info.password}`).toString('base64')}` };
    }
    case 'OAUTH':
      if (!info.token) throw new ProviderError('missing OAuth token');
      return { authorization: `Bearer ${info.token}` };
    case 'CUSTOM': {
      const entries = Object.entries(info);
      if (entries.length === 0) throw new ProviderError('missing custom token/key data');
      return Object.fromEntries(entries);
    }
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/** JSON over HTTP to a provider, with the instance's credential; non-2xx answers are ProviderErrors. */
export class ProviderClient {
  private readonly agent: http.Agent;
  private readonly secure: boolean;

  constructor(
    private readonly endpoint: string,
    private readonly options: ProviderClientOptions,
  ) {
    this.endpoint = endpoint.replace(/\/+$/, '');
    this.secure = this.endpoint.startsWith('https:');
    this.agent = this.secure ? new https.Agent({ rejectUnauthorized: !options.insecure }) : new http.Agent();
  }

  get(path: string): Promise<ProviderAnswer> {
    return this.send('GET', path);
  }

  post(path: string, body: unknown): Promise<ProviderAnswer> {
    return this.send('POST', path, JSON.stringify(body));
  }

  /** The body parsed, for a 2xx answer. */
  static json<T>(answer: ProviderAnswer, what: string): T {
    try {
      return JSON.parse(answer.body) as T;
    } catch {
      throw new ProviderError(`${what}: the answer is not JSON: ${excerpt(answer.body)}`, answer.status);
    }
  }

  private send(method: string, path: string, body?: string): Promise<ProviderAnswer> {
    let url: URL;
    try {
      url = new URL(this.endpoint + path);
    } catch {
      return Promise.reject(new ProviderError(`the endpoint ${this.endpoint} is not a URL`));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(this.options.authMode, this.options.authInfo) };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const lib = url.protocol === 'https:' ? https : http;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    return new Promise<ProviderAnswer>((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // Answers are small JSON documents; a provider that streams more is cut off.
          if (size > 16 * 1024 * 1024) return void req.destroy(new Error('the answer is larger than 16 MiB'));
          chunks.push(chunk);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status < 200 || status > 299) {
            reject(
              new ProviderError(
                `${method} ${url.href} answered ${status} ${res.statusMessage ?? ''}${text ? `: ${excerpt(text)}` : ''}`.trim(),
                status,
              ),
            );
          } else resolve({ status, body: text });
        });
        res.on('error', (err) => reject(new ProviderError(`${method} ${url.href}: ${err.message}`)));
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', (err) => reject(new ProviderError(`${method} ${url.href}: ${err.message}`)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
