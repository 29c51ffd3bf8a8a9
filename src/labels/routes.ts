import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bodyOf, created, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { addSchemas, createdWithLocation, empty, int, listQuery, object, ok, operation, page, ref, str } from '../http/schema-helpers.js';
import { parseQuery } from '../lib/query.js';
import { labelIdParams, labelSchemas } from './schemas.js';
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
  addSchemas(app, labelSchemas);
  const tags = ['label'];

  const listLabels = operation({
    tags,
    operationId: 'ListLabels',
    summary: 'List labels',
    description:
      'Global labels (scope=g) or the labels of one project (scope=p with project_id). ' +
      "Any signed-in caller may list global labels; project labels need the project's label list permission.",
    querystring: object({
      ...listQuery,
      name: str('Only labels whose name contains this'),
      scope: str('g for global labels, p for the labels of the project given by project_id', { enum: ['g', 'p'] }),
      project_id: int('The project whose labels to list; required when scope is p'),
    }),
    response: { 200: page(ref('Label'), 'One page of labels') },
    errors: [400, 401, 403, 500],
  });
  app.get('/labels', { schema: listLabels }, async (req, reply) => {
    const paging = pagingOf(req);
    const query = queryOf(req);
    const page = await labels.list(
      req.identity,
      { scope: query.scope, projectId: query.project_id, name: query.name, terms: parseQuery(query.q), sort: query.sort },
      paging,
    );
    return sendPage(req, reply, paging, page);
  });

  const createLabel = operation({
    tags,
    operationId: 'CreateLabel',
    summary: 'Create a label',
    description:
      'A global label needs the system label permission (system administrators); ' +
      "a project label needs the project's label create permission.",
    body: ref('Label'),
    response: { 201: createdWithLocation('The label was created') },
    errors: [400, 401, 403, 409, 415, 500],
  });
  app.post('/labels', { schema: createLabel }, async (req, reply) => {
    const label = await labels.create(req.identity, bodyOf(req));
    return created(reply, `/api/v2.0/labels/${label.id}`);
  });

  const getLabel = operation({
    tags,
    operationId: 'GetLabelByID',
    summary: 'Get a label',
    params: labelIdParams,
    response: { 200: ok(ref('Label'), 'The label') },
    errors: [401, 403, 404, 500],
  });
  app.get('/labels/:label_id', { schema: getLabel }, async (req) => labels.get(req.identity, labelId(req)));

  const updateLabel = operation({
    tags,
    operationId: 'UpdateLabel',
    summary: 'Change a label',
    description: 'Changes name, description and color; a field left out keeps its value. Scope and project cannot change.',
    params: labelIdParams,
    body: ref('Label'),
    response: { 200: empty('The label was changed') },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.put('/labels/:label_id', { schema: updateLabel }, async (req, reply) => {
    await labels.update(req.identity, labelId(req), bodyOf(req));
    return reply.code(200).send();
  });

  const deleteLabel = operation({
    tags,
    operationId: 'DeleteLabel',
    summary: 'Delete a label',
    description: 'The label also comes off every artifact it was on.',
    params: labelIdParams,
    response: { 200: empty('The label was deleted') },
    errors: [400, 401, 403, 404, 500],
  });
  app.delete('/labels/:label_id', { schema: deleteLabel }, async (req, reply) => {
    await labels.delete(req.identity, labelId(req));
    return reply.code(200).send();
  });
}
