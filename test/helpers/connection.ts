import { connect, type Socket } from 'node:net';
import type { TestServer } from './server.js';

/** One HTTP/1.1 answer read off a raw connection (Content-Length bodies only, as Berth's answers are). */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  json<T = any>(): T;
}

/**
 * A single keep-alive TCP connection to a test server, written and read by hand, for what
 * fetch hides: several requests on the same socket, bodies that stop or overrun. A silent
 * server fails the wait with `timeout` after `timeoutMs` of no traffic (a socket timeout,
 * not a measurement).
 */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  /** Set once the server has ended or reset the connection. */
  closed = false;
  /** Write errors (EPIPE, ECONNRESET) after the server closed; expected when a client keeps sending. */
  readonly errors: string[] = [];

  private constructor(
    readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('end', () => this.close());
    socket.on('close', () => this.close());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errors.push(err.code ?? err.message);
      this.close();
    });
  }

  static async open(server: TestServer, timeoutMs = 10_000): Promise<RawConnection> {
    const { port } = new URL(server.url);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConnection(socket, timeoutMs);
  }

  private close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** Writes a request head: request line, headers, blank line. */
  head(method: string, path: string, headers: Record<string, string> = {}): void {
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Writes one chunk of a chunked body (an empty one ends the body). */
  chunk(data: Buffer): void {
    this.write(`${data.length.toString(16)}\r\n`);
    if (data.length > 0) this.write(data);
    this.write('\r\n');
  }

  /** Waits for more bytes or the end; rejects with `timeout` after timeoutMs of silence. */
  private more(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`timeout: the server sent nothing for ${this.timeoutMs} ms and kept the connection open`));
      }, this.timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The next answer, or null when the server closed the connection without one. */
  async answer(): Promise<RawAnswer | null> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine, ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (this.buffer.length >= end + 4 + length) {
          const body = this.buffer.subarray(end + 4, end + 4 + length);
          this.buffer = this.buffer.subarray(end + 4 + length);
          return { status: Number(statusLine.split(' ')[1]), headers, body, json: () => JSON.parse(body.toString('utf8')) };
        }
      }
      if (this.closed) return null;
      await this.more();
    }
  }

  /** Waits until the server ends the connection; rejects with `timeout` if it keeps it open. */
  async ended(): Promise<void> {
    while (!this.closed) await this.more();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
