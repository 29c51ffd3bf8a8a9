import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { body as asBody } from './oci.js';
import type { TestServer } from './server.js';

/** A /v2 answer, read whole. */
export interface V2Reply {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  json<T = any>(): T;
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send no credentials (default: the system administrator's). */
  anonymous?: boolean;
}

export type DigestAlgorithm = 'sha256' | 'sha512';

export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Reads a fetch Response whole. */
export async function readReply(res: Response): Promise<V2Reply> {
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  return { status: res.status, headers: res.headers, bytes, text, json: () => JSON.parse(text) };
}

/** Sends `chunks` as a streamed request body (chunked transfer encoding, no Content-Length). */
export function streamBody(chunks: Buffer[]): RequestInit {
  return {
    body: new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
        controller.close();
      },
    }),
    duplex: 'half',
  } as RequestInit;
}

/** A small client for /v2 that signs in as the administrator unless told otherwise. */
export class V2 {
  constructor(readonly server: TestServer) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<V2Reply> {
    const headers: Record<string, string> = { ...(options.anonymous ? {} : this.server.admin), ...options.headers };
    const payload = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
    const url = path.startsWith('http') ? path : `${this.server.url}${path}`;
    const res = await fetch(url, { method, headers, body: payload === undefined ? undefined : asBody(payload), redirect: 'manual' });
    return readReply(res);
  }

  /** Pushes a blob in one POST with ?digest=; returns its digest. */
  async pushBlob(repo: string, data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    const digest = digestOf(data, algorithm);
    const res = await this.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(res.status, 201, `pushing blob ${digest} to ${repo}: ${res.status} ${res.text}`);
    return digest;
  }

  /** Opens an upload session; returns the Location path. */
  async startUpload(repo: string, query = ''): Promise<string> {
    const res = await this.call('POST', `/v2/${repo}/blobs/uploads/${query}`, { headers: { 'content-length': '0' } });
    assert.equal(res.status, 202, res.text);
    const location = res.headers.get('location');
    assert.ok(location, 'a session has a Location');
    return new URL(location, this.server.url).pathname + new URL(location, this.server.url).search;
  }

  async putManifest(repo: string, reference: string, bytes: Buffer | string, contentType: string, query = ''): Promise<V2Reply> {
    return this.call('PUT', `/v2/${repo}/manifests/${reference}${query}`, { headers: { 'content-type': contentType }, body: bytes });
  }

  async tags(repo: string): Promise<V2Reply> {
    return this.call('GET', `/v2/${repo}/tags/list`);
  }

  /**
   * The upload's committed size, from its status (GET), or null when the session is gone.
   * "0-0" reads as 0: tests never leave a session holding exactly one byte.
   */
  async uploadOffset(location: string): Promise<number | null> {
    const res = await this.call('GET', location);
    if (res.status === 404) return null;
    assert.equal(res.status, 204, res.text);
    const range = res.headers.get('range');
    assert.match(range ?? '', /^0-\d+$/);
    const end = Number(range!.slice(2));
    return end === 0 ? 0 : end + 1;
  }
}

/** Asserts an OCI error answer: the status, and a body {"errors":[{"code","message"}]} with that code. */
export function assertOciError(
  res: V2Reply,
  status: number,
  code: string,
  message?: RegExp,
): { code: string; message: string; detail?: unknown } {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const doc = res.json<{ errors: Array<{ code: string; message: string; detail?: unknown }> }>();
  assert.ok(Array.isArray(doc.errors) && doc.errors.length > 0, `an errors list: ${res.text}`);
  const [first] = doc.errors;
  assert.equal(first.code, code, res.text);
  assert.equal(typeof first.message, 'string');
  assert.ok(first.message.length > 0, 'the error says what is wrong');
  if (message) assert.match(first.message, message);
  return first;
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  json<T = any>(): T;
}

/**
 * A request through node:http, which (unlike fetch) sends the path exactly as given:
 * no `..` resolution, no slash folding.
 */
export function rawRequest(
  server: TestServer,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; anonymous?: boolean } = {},
): Promise<RawReply> {
  const { port } = new URL(server.url);
  const headers = { ...(options.anonymous ? {} : server.admin), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, bytes, json: () => JSON.parse(bytes.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A reply from a status, raw headers and body bytes (for answers read without fetch). */
export function toReply(status: number, raw: Record<string, string | string[] | undefined>, bytes: Buffer): V2Reply {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  const text = bytes.toString('utf8');
  return { status, headers, bytes, text, json: () => JSON.parse(text) };
}

export function asReply(raw: RawReply): V2Reply {
  return toReply(raw.status, raw.headers, raw.bytes);
}

/**
 * Writes `head` and `body` to a fresh socket, half-closes it, and returns every byte the
 * server sent back until it closed the connection (or '' if it sent nothing).
 */
export function rawExchange(server: TestServer, head: string, body: Buffer = Buffer.alloc(0), halfClose = true): Promise<Buffer> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => {
      socket.write(head);
      if (body.length > 0) socket.write(body);
      if (halfClose) socket.end();
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks)) : reject(err)));
  });
}

/** Parses a raw HTTP/1.1 response (no chunked bodies): the bytes after the headers are its body. */
export function parseRawResponse(data: Buffer): V2Reply | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return toReply(Number(statusLine.split(' ')[1]), headers, data.subarray(end + 4));
}
