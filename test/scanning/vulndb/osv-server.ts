import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** A loopback HTTP server serving a directory as the OSV export does (`/<Ecosystem>/all.zip`); records what was asked. */
export async function serveDirectory(root: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(url);
    const file = path.join(root, path.normalize(url).replace(/^(\.\.[/\\])+/, ''));
    stat(file).then(
      (s) => {
        if (!s.isFile()) throw new Error('not a file');
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': s.size });
        createReadStream(file).pipe(res);
      },
      () => {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such object');
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
