import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bodyOf, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { addSchemas, empty, listQuery, object, ok, operation, page, ref, str, type OperationDoc } from '../http/schema-helpers.js';
import { parseQuery } from '../lib/query.js';
import { robotIdParams, robotSchemas } from './schemas.js';
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
  addSchemas(app, robotSchemas);
  const doc = (op: Omit<OperationDoc, 'tags'>) => operation({ tags: ['robot'], ...op });

  const listRobot = doc({
    operationId: 'ListRobot',
    summary: 'List robot accounts',
    description: 'System robots by default; the robots of one project with q=Level=project,ProjectID=<id>.',
    querystring: object(listQuery),
    response: { 200: page(ref('Robot'), 'One page of robots') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/robots', { schema: listRobot }, async (req, reply) => {
    const paging = pagingOf(req);
    const query = queryOf(req);
    const page = await robots.list(req.identity, parseQuery(query.q), query.sort, paging);
    return sendPage(req, reply, paging, page);
  });

  const createRobot = doc({
    operationId: 'CreateRobot',
    summary: 'Create a robot account',
    description: 'A robot never holds a permission its creator lacks.',
    body: ref('RobotCreate'),
    response: {
      201: {
        ...ok(ref('RobotCreated'), 'The robot was created; its secret is shown this once'),
        headers: { Location: str('Path of the new robot') },
      },
    },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.post('/robots', { schema: createRobot }, async (req, reply) => {
    const created = await robots.create(req.identity, bodyOf(req));
    return reply.code(201).header('location', `/api/v2.0/robots/${created.id}`).send(created);
  });

  const getRobotByID = doc({
    operationId: 'GetRobotByID',
    summary: 'Get a robot account',
    params: robotIdParams,
    response: { 200: ok(ref('Robot'), 'The robot') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/robots/:robot_id', { schema: getRobotByID }, async (req) => robots.get(req.identity, robotId(req)));

  const updateRobot = doc({
    operationId: 'UpdateRobot',
    summary: 'Change a robot account',
    description: 'description, disable, duration and permissions change; name, level and project never do.',
    params: robotIdParams,
    body: ref('Robot'),
    response: { 200: empty('The robot was changed') },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.put('/robots/:robot_id', { schema: updateRobot }, async (req, reply) => {
    await robots.update(req.identity, robotId(req), bodyOf(req));
    return reply.code(200).send();
  });

  const refreshSec = doc({
    operationId: 'RefreshSec',
    summary: "Refresh a robot's secret",
    description: 'With a secret in the body, that secret is set and the answer is {}; without one, a new secret is generated and returned.',
    params: robotIdParams,
    body: ref('RobotSec'),
    response: { 200: ok(ref('RobotSec'), 'The generated secret, or {} when the body chose it') },
    errors: [400, 401, 403, 404, 500],
  });
  app.patch('/robots/:robot_id', { schema: refreshSec }, async (req) => {
    // The body (RobotSec) may be left out: a secret is then generated.
    const body = req.body === undefined || req.body === null ? {} : bodyOf(req);
    return robots.refreshSecret(req.identity, robotId(req), body);
  });

  const deleteRobot = doc({
    operationId: 'DeleteRobot',
    summary: 'Delete a robot account',
    params: robotIdParams,
    response: { 200: empty('The robot was deleted') },
    errors: [400, 401, 403, 404, 500],
  });
  app.delete('/robots/:robot_id', { schema: deleteRobot }, async (req, reply) => {
    await robots.delete(req.identity, robotId(req));
    return reply.code(200).send();
  });

  const getPermissions = operation({
    tags: ['permissions'],
    operationId: 'getPermissions',
    summary: 'List the permissions a robot may be given',
    description: 'Both levels for system administrators; the project level for project administrators.',
    response: { 200: ok(ref('Permissions'), 'The permissions, by level') },
    errors: [401, 403, 404, 500],
  });
  app.get('/permissions', { schema: getPermissions }, async (req) => robots.permissionCatalogue(req.identity));
}
