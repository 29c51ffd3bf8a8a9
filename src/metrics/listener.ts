import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { challenge, mayRead, type MetricsAccess } from './routes.js';
import type { BerthMetrics } from './registry.js';

/**
 * Metrics on a port of their own (Harbor's metric.port): GET `access.path` and nothing else,
 * open unless a token is configured. Starts with `listen` and ends with `close`.
 */
export class MetricsListener {
  private server: Server | null = null;

  constructor(
    private readonly metrics: BerthMetrics,
    private readonly access: MetricsAccess,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Listens on host:port; returns the base URL. */
  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => void this.handle(req.method ?? '', req.url ?? '', req.headers.authorization, res));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${shown}:${address.port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(
    method: string,
    url: string,
    authorization: string | undefined,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const json = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify({ errors: [{ code, message }] }));
    };
    if (path !== this.access.path) return json(404, 'NOT_FOUND', `nothing at ${method} ${path}; the metrics are at ${this.access.path}`);
    if (method !== 'GET' && method !== 'HEAD') return json(405, 'METHOD_NOT_ALLOWED', 'the metrics answer GET', { allow: 'GET, HEAD' });
    try {
      if (!(await mayRead(this.access, authorization))) {
        return json(401, 'UNAUTHORIZED', 'metrics need the metrics token', { 'www-authenticate': challenge(this.access) });
      }
      const text = await this.metrics.text();
      res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : text);
    } catch (err) {
      this.onError(err);
      if (!res.headersSent) json(500, 'UNKNOWN', 'collecting the metrics failed');
    }
  }
}
