import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, created, idParam, isResourceName, pagingOf, sendPage } from '../http/api-helpers.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  listQuery,
  object,
  operation,
  page,
  ref,
  type OperationDoc,
} from '../http/schema-helpers.js';
import { projectParams, resourceNameHeader } from '../projects/schemas.js';
import { toRef, type ProjectService } from '../projects/service.js';
import { immutabilitySchemas, ruleParams } from './schemas.js';
import type { ImmutabilityService } from './service.js';

export interface ImmutabilityRouteDeps {
  immutability: ImmutabilityService;
  projects: ProjectService;
  guard: AccessGuard;
}

type RuleParams = { project_name_or_id: string; immutable_rule_id?: string };

/** /projects/{project_name_or_id}/immutabletagrules…, as Harbor serves them. */
export async function registerImmutabilityRoutes(app: FastifyInstance, deps: ImmutabilityRouteDeps): Promise<void> {
  const { immutability, projects, guard } = deps;
  addSchemas(app, immutabilitySchemas);
  const doc = (op: Omit<OperationDoc, 'tags' | 'headers'>) => operation({ tags: ['immutable'], headers: resourceNameHeader, ...op });

  /** The project in the path (404 if none), once the caller may take `action` on its immutable-tag rules. */
  async function projectFor(req: FastifyRequest, action: string) {
    const project = toRef(await projects.resolve((req.params as RuleParams).project_name_or_id, isResourceName(req)));
    await guard.require(req.identity, project, 'immutable-tag', action);
    return project;
  }
  const ruleId = (req: FastifyRequest) => idParam((req.params as RuleParams).immutable_rule_id, 'immutable_rule_id');

  const listImmuRules = doc({
    operationId: 'ListImmuRules',
    summary: "List a project's tag immutability rules",
    description: 'In the order they were created; at most 15.',
    params: projectParams,
    querystring: object({ ...listQuery }),
    response: { 200: page(ref('ImmutableRule'), 'One page of rules') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id/immutabletagrules', { schema: listImmuRules }, async (req, reply) => {
    const project = await projectFor(req, 'list');
    const paging = pagingOf(req);
    return sendPage(req, reply, paging, await immutability.list(project.id, paging));
  });

  const createImmuRule = doc({
    operationId: 'CreateImmuRule',
    summary: 'Add a tag immutability rule',
    description: 'A 16th rule is refused with 400. action and template may be left out (always immutable and immutable_template).',
    params: projectParams,
    body: ref('ImmutableRule'),
    response: { 201: createdWithLocation('The rule was added') },
    errors: [400, 401, 403, 404, 500],
  });
  app.post('/projects/:project_name_or_id/immutabletagrules', { schema: createImmuRule }, async (req, reply) => {
    const project = await projectFor(req, 'create');
    const id = await immutability.create(project, bodyOf(req), displayName(req.identity));
    const name = encodeURIComponent((req.params as RuleParams).project_name_or_id);
    return created(reply, `/api/v2.0/projects/${name}/immutabletagrules/${id}`);
  });

  const updateImmuRule = doc({
    operationId: 'UpdateImmuRule',
    summary: 'Change, enable or disable a tag immutability rule',
    description: 'The body replaces the rule (selectors and disabled).',
    params: ruleParams,
    body: ref('ImmutableRule'),
    response: { 200: empty('The rule was changed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/projects/:project_name_or_id/immutabletagrules/:immutable_rule_id', { schema: updateImmuRule }, async (req, reply) => {
    const project = await projectFor(req, 'update');
    await immutability.update(project, ruleId(req), bodyOf(req), displayName(req.identity));
    return reply.code(200).send();
  });

  const deleteImmuRule = doc({
    operationId: 'DeleteImmuRule',
    summary: 'Delete a tag immutability rule',
    params: ruleParams,
    response: { 200: empty('The rule was deleted') },
    errors: [400, 401, 403, 404, 500],
  });
  app.delete('/projects/:project_name_or_id/immutabletagrules/:immutable_rule_id', { schema: deleteImmuRule }, async (req, reply) => {
    const project = await projectFor(req, 'delete');
    await immutability.delete(project, ruleId(req), displayName(req.identity));
    return reply.code(200).send();
  });
}
