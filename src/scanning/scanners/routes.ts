import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAuthenticated, type AccessGuard } from '../../auth/guard.js';
import { bodyOf, created, isResourceName, pagingOf, queryOf, sendPage } from '../../http/api-helpers.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  listQuery,
  object,
  ok,
  operation,
  page,
  pathParams,
  ref,
  str,
  type OperationDoc,
} from '../../http/schema-helpers.js';
import { apiError } from '../../lib/errors.js';
import { parseQuery, type QueryTerm } from '../../lib/query.js';
import { projectParams, resourceNameHeader } from '../../projects/schemas.js';
import { toRef, type ProjectService } from '../../projects/service.js';
import type { AdapterAuth } from './adapter-auth.js';
import { parseRegistration, parseSettings } from './registration.js';
import { scannerSchemas } from './schemas.js';
import type { ScannerService } from './service.js';

export interface ScannerRouteDeps {
  scanners: ScannerService;
  projects: ProjectService;
  guard: AccessGuard;
  adapterAuth: AdapterAuth;
  adapterEnabled: boolean;
  basicAuth: boolean;
}

const registrationParams = pathParams({ registration_id: str('The registration uuid') });

/** Harbor's older list filters (?name=, ?description=, ?url= fuzzy; ?ex_name=, ?ex_url= exact) as q terms. */
function legacyTerms(query: Record<string, string | undefined>): QueryTerm[] {
  const terms: QueryTerm[] = [];
  for (const key of ['name', 'description', 'url']) if (query[key]) terms.push({ key, op: 'fuzzy', value: query[key]! });
  for (const key of ['ex_name', 'ex_url']) if (query[key]) terms.push({ key: key.slice(3), op: 'exact', value: query[key]! });
  return terms;
}

/** /scanners… (system level) and /projects/{p}/scanner… as Harbor serves them, plus Berth's /system/scanner-adapter. */
export async function registerScannerRoutes(app: FastifyInstance, deps: ScannerRouteDeps): Promise<void> {
  const { scanners, projects, guard } = deps;
  addSchemas(app, scannerSchemas);
  const doc = (op: Omit<OperationDoc, 'tags'>) => operation({ tags: ['scanner'], ...op });
  const uuidOf = (req: FastifyRequest) => (req.params as { registration_id: string }).registration_id;

  app.get(
    '/scanners',
    {
      schema: doc({
        operationId: 'listScanners',
        summary: 'List scanner registrations',
        description: 'The default first, then the newest. Each one carries its health and capabilities from its metadata (cached 30 s).',
        querystring: object({ ...listQuery }),
        response: { 200: page(ref('ScannerRegistration'), 'One page of registrations') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'scanner', 'list');
      const query = queryOf(req);
      const paging = pagingOf(req);
      const list = await scanners.list([...parseQuery(query.q), ...legacyTerms(query)], query.sort, paging);
      return sendPage(req, reply, paging, { items: await Promise.all(list.items.map((r) => scanners.view(r))), total: list.total });
    },
  );

  app.post(
    '/scanners',
    {
      schema: doc({
        operationId: 'createScanner',
        summary: 'Register a scanner adapter',
        description: 'The adapter must answer its metadata first (500 with the reason if not). The first registration becomes the default.',
        body: ref('ScannerRegistrationReq'),
        response: { 201: createdWithLocation('Registered') },
        errors: [400, 401, 403, 409, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'scanner', 'create');
      const uuid = await scanners.create(parseRegistration(bodyOf(req)));
      return created(reply, `${req.url.split('?')[0]!.replace(/\/+$/, '')}/${uuid}`);
    },
  );

  app.post(
    '/scanners/ping',
    {
      schema: doc({
        operationId: 'pingScanner',
        summary: 'Test scanner adapter settings',
        description:
          'Fetches the adapter metadata with the given URL and auth; 500 with the reason when it cannot be reached or is not usable.',
        body: ref('ScannerRegistrationSettings'),
        response: { 200: empty('The adapter answered usable metadata') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'scanner', 'read');
      await scanners.ping(parseSettings(bodyOf(req)));
      return reply.code(200).send();
    },
  );

  app.get(
    '/scanners/:registration_id',
    {
      schema: doc({
        operationId: 'getScanner',
        summary: 'Get a scanner registration',
        params: registrationParams,
        response: { 200: ok(ref('ScannerRegistration'), 'The registration') },
        errors: [401, 403, 404, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'scanner', 'read');
      return scanners.view(await scanners.get(uuidOf(req)));
    },
  );

  app.put(
    '/scanners/:registration_id',
    {
      schema: doc({
        operationId: 'updateScanner',
        summary: 'Update a scanner registration',
        description: 'The built-in scanner cannot be changed (403). An empty access_credential keeps the stored one while auth needs one.',
        params: registrationParams,
        body: ref('ScannerRegistrationReq'),
        response: { 200: empty('Updated') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'scanner', 'update');
      const existing = await scanners.get(uuidOf(req));
      scanners.assertMutable(existing, 'update');
      await scanners.update(existing.uuid, parseRegistration(bodyOf(req), existing));
      return reply.code(200).send();
    },
  );

  app.delete(
    '/scanners/:registration_id',
    {
      schema: doc({
        operationId: 'deleteScanner',
        summary: 'Delete a scanner registration',
        description:
          'The built-in scanner cannot be deleted (403). When the default is deleted, the built-in scanner becomes the default again.',
        params: registrationParams,
        response: { 200: ok(ref('ScannerRegistration'), 'The deleted registration') },
        errors: [401, 403, 404, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'scanner', 'delete');
      const deleted = await scanners.delete(uuidOf(req));
      return scanners.plainView(deleted);
    },
  );

  app.patch(
    '/scanners/:registration_id',
    {
      schema: doc({
        operationId: 'setScannerAsDefault',
        summary: 'Make a scanner registration the system default',
        description: '`{"is_default": true}` makes it the default (a disabled one cannot be); `false` changes nothing, as in Harbor.',
        params: registrationParams,
        body: object({ is_default: { type: 'boolean', description: 'true to make it the default' } }),
        response: { 200: empty('Done') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'scanner', 'update');
      const body = bodyOf(req);
      if (body.is_default !== undefined && typeof body.is_default !== 'boolean')
        throw apiError('BAD_REQUEST', 'is_default must be true or false');
      if (body.is_default === true) await scanners.setDefault(uuidOf(req));
      else await scanners.get(uuidOf(req));
      return reply.code(200).send();
    },
  );

  app.get(
    '/scanners/:registration_id/metadata',
    {
      schema: doc({
        operationId: 'getScannerMetadata',
        summary: "Get a scanner adapter's metadata",
        params: registrationParams,
        response: { 200: ok(ref('ScannerAdapterMetadata'), 'The metadata the adapter answered') },
        errors: [401, 403, 404, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'scanner', 'read');
      return scanners.metadataOf(await scanners.get(uuidOf(req)));
    },
  );

  app.get(
    '/system/scanner-adapter',
    {
      schema: doc({
        operationId: 'getScannerAdapterAccess',
        summary: "How to register Berth's built-in scanner in another registry (Berth)",
        description: 'The URL, auth and API key of the Pluggable Scanner API Berth serves at /scanner/api/v1. System administrators only.',
        response: { 200: ok(ref('ScannerAdapterAccess'), 'The adapter access') },
        errors: [401, 403, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'scanner', 'update');
      const builtin = await scanners.builtin();
      return {
        url: builtin.url,
        auth: 'APIKey',
        api_key: await deps.adapterAuth.apiKey(),
        api_key_source: deps.adapterAuth.keySource,
        basic_auth: deps.basicAuth,
        enabled: deps.adapterEnabled,
      };
    },
  );

  // Project level: Harbor's project tag, its `scanner` permissions.
  const projectDoc = (op: Omit<OperationDoc, 'tags' | 'headers' | 'params'>) =>
    operation({ tags: ['project'], headers: resourceNameHeader, params: projectParams, ...op });
  async function projectFor(req: FastifyRequest, action: string) {
    requireAuthenticated(req.identity);
    const project = toRef(await projects.resolve((req.params as { project_name_or_id: string }).project_name_or_id, isResourceName(req)));
    await guard.require(req.identity, project, 'scanner', action);
    return project;
  }

  app.get(
    '/projects/:project_name_or_id/scanner',
    {
      schema: projectDoc({
        operationId: 'getScannerOfProject',
        summary: "Get the project's scanner",
        description: 'The registration the project chose, else the system default; 404 when there is neither.',
        response: { 200: ok(ref('ScannerRegistration'), 'The registration') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      const project = await projectFor(req, 'read');
      const reg = await scanners.forProject(project.id);
      if (!reg) throw apiError('NOT_FOUND', `no scanner is configured for project ${project.name}`);
      return scanners.view(reg);
    },
  );

  app.put(
    '/projects/:project_name_or_id/scanner',
    {
      schema: projectDoc({
        operationId: 'setScannerOfProject',
        summary: "Choose the project's scanner",
        body: object({ uuid: str('The registration uuid') }, ['uuid']),
        response: { 200: empty('Set') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'create');
      const uuid = bodyOf(req).uuid;
      if (typeof uuid !== 'string' || uuid.trim() === '') throw apiError('BAD_REQUEST', 'missing scanner UUID');
      await scanners.setForProject(project.id, uuid.trim());
      return reply.code(200).send();
    },
  );

  app.get(
    '/projects/:project_name_or_id/scanner/candidates',
    {
      schema: projectDoc({
        operationId: 'listScannerCandidatesOfProject',
        summary: 'List the registrations a project may choose from',
        querystring: object({ ...listQuery }),
        response: { 200: page(ref('ScannerRegistration'), 'One page of registrations') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      await projectFor(req, 'create');
      const query = queryOf(req);
      const paging = pagingOf(req);
      const list = await scanners.list(parseQuery(query.q), query.sort, paging);
      return sendPage(req, reply, paging, { items: await Promise.all(list.items.map((r) => scanners.view(r))), total: list.total });
    },
  );
}
