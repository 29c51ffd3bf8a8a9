import type { FastifyInstance } from 'fastify';

/**
 * A query parameter given more than once on Harbor's API counts once, with its last value,
 * as Harbor's generated handlers read it. The query-string parser gives a list for a repeated
 * parameter, and the routes read strings: `?name=a&name=b` was a 500 on every list that
 * filters by name. The one parameter Harbor reads as a list is left as it is.
 */
export function registerLastQueryValue(app: FastifyInstance): void {
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.url.startsWith('/api/v2.0/')) {
      const query = req.query as Record<string, unknown>;
      const path = req.url.split('?', 1)[0];
      for (const [key, value] of Object.entries(query)) {
        if (!Array.isArray(value)) continue;
        // GET /projects/{p}/webhook/jobs?status=…&status=… (Harbor's `type: array`).
        if (key === 'status' && path.endsWith('/webhook/jobs')) continue;
        query[key] = value[value.length - 1];
      }
    }
    done();
  });
}
