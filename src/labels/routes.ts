import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bodyOf, created, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { parseQuery } from '../lib/query.js';
import type { LabelService } from './service.js';

export interface LabelRouteDeps {
  labels: LabelService;
}

function labelId(req: FastifyRequest): number {
  return idParam((req.params as { label_id: string }).label_id, 'label_id');
}

/** /api/v2.0/labels… as Harbor serves them. */
export async function registerLabelRoutes(app: FastifyInstance, deps: LabelRouteDeps): Promise<void> {
  const { labels } = deps;

  app.get('/labels', async (req, reply) => {
    const paging = pagingOf(req);
    const query = queryOf(req);
    const page = await labels.list(
      req.identity,
      { scope: query.scope, projectId: query.project_id, name: query.name, terms: parseQuery(query.q), sort: query.sort },
      paging,
    );
    return sendPage(req, reply, paging, page);
  });

  app.post('/labels', async (req, reply) => {
    const label = await labels.create(req.identity, bodyOf(req));
    return created(reply, `/api/v2.0/labels/${label.id}`);
  });

  app.get('/labels/:label_id', async (req) => labels.get(req.identity, labelId(req)));

  app.put('/labels/:label_id', async (req, reply) => {
    await labels.update(req.identity, labelId(req), bodyOf(req));
    return reply.code(200).send();
  });

  app.delete('/labels/:label_id', async (req, reply) => {
    await labels.delete(req.identity, labelId(req));
    return reply.code(200).send();
  });
}
