import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/*
 * A loopback stand-in for a Kraken proxy, written from Kraken's published documentation
 * (uber/kraken docs/INTEGRATEWITHHARBOR.md: the proxy takes registry notifications at
 * POST /registry/notifications, in CNCF Distribution's notification format, and has its
 * origins cache the blobs of each pushed image manifest) and the behaviour of the proxy's
 * notification handler that page describes: events are decoded, those whose action is "push"
 * and whose target media type is an image manifest (Docker schema 2 or OCI) are kept, and the
 * proxy answers 200 with an empty body, whatever becomes of the caching. GET /health answers
 * "OK". Kraken cannot be installed here.
 */

export interface KrakenEvent {
  id: string;
  timestamp: string;
  action: string;
  target: { mediaType: string; digest: string; repository: string; url: string; tag: string };
}

export interface KrakenFakeOptions {
  /** Required Basic credential ("user:password"); unset: any request is accepted. */
  basic?: string;
  /** Answer notifications with this status (a proxy that fails). */
  failWith?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface KrakenFake {
  url: string;
  /** Every event received. */
  events: KrakenEvent[];
  /** The events Kraken's filter keeps (push of an image manifest): the ones it preheats. */
  preheated: KrakenEvent[];
  requests: Array<{ method: string; path: string; authorization: string | undefined }>;
  options: KrakenFakeOptions;
  close(): Promise<void>;
}

const imageManifest = /^application\/vnd\.(docker\.distribution\.manifest\.v\d\+(json|prettyjws)|oci\.image\.manifest\.v1\+json)/;

export async function startKrakenFake(options: KrakenFakeOptions = {}): Promise<KrakenFake> {
  const events: KrakenEvent[] = [];
  const preheated: KrakenEvent[] = [];
  const requests: KrakenFake['requests'] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization });
      if (options.basic !== undefined && req.headers.authorization !== `Basic ${Buffer.from(options.basic).toString('base64')}`) {
        res.writeHead(401).end('unauthorized');
        return;
      }
      if (req.method === 'GET' && path === '/health') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('OK\n');
        return;
      }
      if (req.method === 'POST' && path === '/registry/notifications') {
        if (options.failWith) {
          res.writeHead(options.failWith, { 'content-type': 'text/plain' }).end('origin cluster unavailable');
          return;
        }
        let body: { events?: KrakenEvent[] };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`decode body: ${(err as Error).message}`);
          return;
        }
        for (const event of body.events ?? []) {
          events.push(event);
          if (event.action === 'push' && imageManifest.test(event.target?.mediaType ?? '')) preheated.push(event);
        }
        res.writeHead(200).end();
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    });
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    events,
    preheated,
    requests,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
