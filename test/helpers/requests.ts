import type { TestServer } from './server.js';

export interface RecordedRequest {
  method: string;
  url: string;
  status: number;
}

/**
 * Records every HTTP request the server answers (method, URL with query, status), by
 * listening beside Fastify on the Node server. Returns the live list and a stop function.
 */
export function recordRequests(server: TestServer): { requests: RecordedRequest[]; stop(): void } {
  const requests: RecordedRequest[] = [];
  const node = server.berth.http.server;
  const listener = (req: { method?: string; url?: string }, res: { statusCode: number; once(e: 'finish', f: () => void): void }) => {
    res.once('finish', () => requests.push({ method: req.method ?? '', url: req.url ?? '', status: res.statusCode }));
  };
  node.on('request', listener);
  return { requests, stop: () => node.off('request', listener) };
}
