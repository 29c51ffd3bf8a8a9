import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, created, idParam, isResourceName, pagingOf, sendPage } from '../http/api-helpers.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  object,
  ok,
  operation,
  page,
  pagingQuery,
  ref,
  type OperationDoc,
} from '../http/schema-helpers.js';
import { projectParams, resourceNameHeader } from '../projects/schemas.js';
import { toRef, type ProjectService } from '../projects/service.js';
import { signatureSchemas, trustKeyParams } from './schemas.js';
import type { SignatureService } from './service.js';

export interface SignatureRouteDeps {
  signatures: SignatureService;
  projects: ProjectService;
  guard: AccessGuard;
}

type KeyParams = { project_name_or_id: string; key_id?: string };

/** /projects/{project_name_or_id}/trust/keys… (Berth extension): the keys a project's signature policies verify with. */
export async function registerSignatureRoutes(app: FastifyInstance, deps: SignatureRouteDeps): Promise<void> {
  const { signatures, projects, guard } = deps;
  addSchemas(app, signatureSchemas);
  const doc = (op: Omit<OperationDoc, 'tags' | 'headers'>) => operation({ tags: ['trust'], headers: resourceNameHeader, ...op });

  /** Reading is the project's configuration (every member); changing it, the project administrator's. */
  async function projectFor(req: FastifyRequest, action: 'read' | 'update') {
    const project = toRef(await projects.resolve((req.params as KeyParams).project_name_or_id, isResourceName(req)));
    await guard.require(req.identity, project, 'configuration', action);
    return project;
  }
  const keyId = (req: FastifyRequest) => idParam((req.params as KeyParams).key_id, 'key_id');

  const listTrustKeys = doc({
    operationId: 'ListTrustKeys',
    summary: "List a project's trusted keys",
    description: 'Berth extension. Oldest first. Every project member may read them.',
    params: projectParams,
    querystring: object({ ...pagingQuery }),
    response: { 200: page(ref('TrustKey'), 'One page of trusted keys') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id/trust/keys', { schema: listTrustKeys }, async (req, reply) => {
    const project = await projectFor(req, 'read');
    const paging = pagingOf(req);
    return sendPage(req, reply, paging, await signatures.listKeys(project.id, paging));
  });

  const getTrustKey = doc({
    operationId: 'GetTrustKey',
    summary: 'Get one trusted key',
    description: 'Berth extension.',
    params: trustKeyParams,
    response: { 200: ok(ref('TrustKey'), 'The key') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id/trust/keys/:key_id', { schema: getTrustKey }, async (req) => {
    const project = await projectFor(req, 'read');
    return signatures.key(project, keyId(req));
  });

  const createTrustKey = doc({
    operationId: 'CreateTrustKey',
    summary: 'Trust a key, CA certificates or a Sigstore trusted root',
    description:
      'Berth extension; project administrators only. From then on the project counts only signatures of that kind which verify ' +
      '(cosign and sigstore-root keys for cosign signatures, notation-ca for Notation).',
    params: projectParams,
    body: ref('TrustKeyReq'),
    response: { 201: createdWithLocation('The key was added') },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.post('/projects/:project_name_or_id/trust/keys', { schema: createTrustKey }, async (req, reply) => {
    const project = await projectFor(req, 'update');
    const id = await signatures.createKey(project, bodyOf(req), displayName(req.identity));
    const name = encodeURIComponent((req.params as KeyParams).project_name_or_id);
    return created(reply, `/api/v2.0/projects/${name}/trust/keys/${id}`);
  });

  const deleteTrustKey = doc({
    operationId: 'DeleteTrustKey',
    summary: 'Stop trusting a key',
    description: 'Berth extension; project administrators only. Signatures that verified only with it no longer count.',
    params: trustKeyParams,
    response: { 200: empty('The key was removed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.delete('/projects/:project_name_or_id/trust/keys/:key_id', { schema: deleteTrustKey }, async (req, reply) => {
    const project = await projectFor(req, 'update');
    await signatures.deleteKey(project, keyId(req), displayName(req.identity));
    return reply.code(200).send();
  });
}
