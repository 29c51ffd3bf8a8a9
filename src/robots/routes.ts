import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bodyOf, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { parseQuery } from '../lib/query.js';
import type { RobotService } from './service.js';

export interface RobotRouteDeps {
  robots: RobotService;
}

function robotId(req: FastifyRequest): number {
  return idParam((req.params as { robot_id: string }).robot_id, 'robot_id');
}

/** /api/v2.0/robots… (robot accounts v2) as Harbor serves them. */
export async function registerRobotRoutes(app: FastifyInstance, deps: RobotRouteDeps): Promise<void> {
  const { robots } = deps;

  app.get('/robots', async (req, reply) => {
    const paging = pagingOf(req);
    const query = queryOf(req);
    const page = await robots.list(req.identity, parseQuery(query.q), query.sort, paging);
    return sendPage(req, reply, paging, page);
  });

  app.post('/robots', async (req, reply) => {
    const created = await robots.create(req.identity, bodyOf(req));
    return reply.code(201).header('location', `/api/v2.0/robots/${created.id}`).send(created);
  });

  app.get('/robots/:robot_id', async (req) => robots.get(req.identity, robotId(req)));

  app.put('/robots/:robot_id', async (req, reply) => {
    await robots.update(req.identity, robotId(req), bodyOf(req));
    return reply.code(200).send();
  });

  app.patch('/robots/:robot_id', async (req) => {
    // The body (RobotSec) may be left out: a secret is then generated.
    const body = req.body === undefined || req.body === null ? {} : bodyOf(req);
    return robots.refreshSecret(req.identity, robotId(req), body);
  });

  app.delete('/robots/:robot_id', async (req, reply) => {
    await robots.delete(req.identity, robotId(req));
    return reply.code(200).send();
  });
}
