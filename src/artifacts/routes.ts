import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import {
  bodyOf,
  boolParam,
  idParam,
  isResourceName,
  pagingOf,
  queryOf,
  repositoryPathName,
  sendPage,
  type Query,
} from '../http/api-helpers.js';
import {
  addSchemas,
  bool,
  createdWithLocation,
  empty,
  int,
  listQuery,
  object,
  ok,
  operation,
  page,
  pathParams,
  ref,
  str,
} from '../http/schema-helpers.js';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
import { isDigest } from '../oci/digest.js';
import { isTag } from '../oci/names.js';
import { projectNameOrId, resourceNameHeader } from '../projects/schemas.js';
import { toRef, type ProjectService } from '../projects/service.js';
import type { RepositoryRow } from '../registry/store.js';
import { iconByDigest } from './icons.js';
import {
  additionNames,
  additionResponse,
  artifactListQuery,
  artifactParams,
  artifactSchemas,
  repositoryPathParams,
  viewQuery,
} from './schemas.js';
import { artifactPath, defaultViewOptions, type ArtifactService, type ViewOptions } from './service.js';

export interface ArtifactRouteDeps {
  artifacts: ArtifactService;
  projects: ProjectService;
  guard: AccessGuard;
}

type ArtifactParams = {
  project_name: string;
  repository_name: string;
  reference?: string;
  tag_name?: string;
  label_id?: string;
  addition?: string;
};

function viewOptions(query: Query, acceptVulnerabilities?: string | string[]): ViewOptions {
  const flag = (name: string, fallback: boolean) => boolParam(query[name], name) ?? fallback;
  return {
    withTag: flag('with_tag', defaultViewOptions.withTag),
    withLabel: flag('with_label', defaultViewOptions.withLabel),
    withScanOverview: flag('with_scan_overview', defaultViewOptions.withScanOverview),
    withSignature: flag('with_signature', defaultViewOptions.withSignature),
    withImmutableStatus: flag('with_immutable_status', defaultViewOptions.withImmutableStatus),
    withAccessory: flag('with_accessory', defaultViewOptions.withAccessory),
    withSbomOverview: flag('with_sbom_overview', false),
    acceptVulnerabilities: reportTypes(acceptVulnerabilities),
  };
}

/** X-Accept-Vulnerabilities: report MIME types, comma-separated (they hold "; version=…", so only commas split). */
function reportTypes(header: string | string[] | undefined): string[] | undefined {
  const list = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list.length > 0 ? list : undefined;
}

/** `from` of a copy: "project/repo:tag" or "project/repo@digest". */
function parseFrom(from: string | undefined): { repository: string; reference: string } {
  if (!from) throw apiError('BAD_REQUEST', 'from is required: "project/repository:tag" or "project/repository@digest"');
  const at = from.indexOf('@');
  if (at > 0) {
    const reference = from.slice(at + 1);
    if (!isDigest(reference)) throw apiError('BAD_REQUEST', `"${reference}" in from is not a valid digest`);
    return { repository: from.slice(0, at), reference };
  }
  const colon = from.lastIndexOf(':');
  if (colon > from.lastIndexOf('/') && colon > 0) {
    const reference = from.slice(colon + 1);
    if (!isTag(reference)) throw apiError('BAD_REQUEST', `"${reference}" in from is not a valid tag`);
    return { repository: from.slice(0, colon), reference };
  }
  throw apiError('BAD_REQUEST', `from "${from}" must be "project/repository:tag" or "project/repository@digest"`);
}

/** /projects/{p}/repositories/{r}/artifacts…, and /icons, as Harbor serves them. */
export async function registerArtifactRoutes(app: FastifyInstance, deps: ArtifactRouteDeps): Promise<void> {
  const { artifacts, projects, guard } = deps;
  const base = '/projects/:project_name/repositories/:repository_name/artifacts';
  addSchemas(app, artifactSchemas);
  const tags = ['artifact'];

  /** The project (404), the caller's permission for `action` on `resource` in it, then the repository (404). */
  async function repositoryFor(req: FastifyRequest, resource: string, action: string): Promise<RepositoryRow> {
    const params = req.params as ArtifactParams;
    const project = await projects.findByName(params.project_name);
    if (!project) throw apiError('NOT_FOUND', `project ${params.project_name} not found`);
    await guard.require(req.identity, toRef(project), resource, action);
    return artifacts.repository(repositoryPathName(params.project_name, params.repository_name));
  }

  async function artifactFor(req: FastifyRequest, resource: string, action: string) {
    const repo = await repositoryFor(req, resource, action);
    return { repo, artifact: await artifacts.resolve(repo, (req.params as ArtifactParams).reference!) };
  }

  const actor = (req: FastifyRequest) => displayName(req.identity);

  const listArtifacts = operation({
    tags,
    operationId: 'listArtifacts',
    summary: "List a repository's artifacts",
    description:
      'Newest first. Accessories and the untagged children of indexes are left out (q=base=* includes them); ' +
      'with_* switches add or leave out details.',
    params: repositoryPathParams,
    querystring: object(artifactListQuery),
    response: { 200: page(ref('Artifact'), 'One page of artifacts') },
    errors: [400, 401, 403, 404, 422, 500],
  });
  app.get(base, { schema: listArtifacts }, async (req, reply) => {
    const repo = await repositoryFor(req, 'artifact', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    const page = await artifacts.list(
      { repositoryId: repo.id },
      parseQuery(query.q),
      query.sort,
      paging,
      viewOptions(query, req.headers['x-accept-vulnerabilities']),
    );
    return sendPage(req, reply, paging, page);
  });

  // Every repository's artifacts in a project; latest_in_repository keeps the newest of each.
  const listArtifactsOfProject = operation({
    tags: ['project'],
    operationId: 'listArtifactsOfProject',
    summary: 'List the artifacts of every repository in a project',
    description: 'Filtered, sorted and detailed as the repository list is.',
    params: pathParams(projectNameOrId),
    headers: resourceNameHeader,
    querystring: object({
      ...artifactListQuery,
      latest_in_repository: bool('Keep only the newest pushed artifact of each repository', { default: false }),
    }),
    response: { 200: page(ref('Artifact'), 'One page of artifacts') },
    errors: [400, 401, 403, 404, 422, 500],
  });
  app.get('/projects/:project_name_or_id/artifacts', { schema: listArtifactsOfProject }, async (req, reply) => {
    const project = await projects.resolve((req.params as { project_name_or_id: string }).project_name_or_id, isResourceName(req));
    await guard.require(req.identity, toRef(project), 'artifact', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    const latestInRepository = boolParam(query.latest_in_repository, 'latest_in_repository') ?? false;
    const scope = { projectId: Number(project.id), latestInRepository };
    return sendPage(
      req,
      reply,
      paging,
      await artifacts.list(scope, parseQuery(query.q), query.sort, paging, viewOptions(query, req.headers['x-accept-vulnerabilities'])),
    );
  });

  const copyArtifact = operation({
    tags,
    operationId: 'CopyArtifact',
    summary: 'Copy an artifact into the repository',
    description:
      'Copies the artifact named by from, with its children and accessories, into this repository (created if need be). ' +
      'Needs artifact create here and pull on the source; an accessory cannot be copied on its own (403).',
    params: repositoryPathParams,
    querystring: object({ from: str('The artifact to copy: project/repository:tag or project/repository@digest') }, ['from']),
    response: { 201: createdWithLocation('The artifact was copied; Location is its path in this repository') },
    errors: [400, 401, 403, 404, 405, 500],
  });
  app.post(base, { schema: copyArtifact }, async (req, reply) => {
    const params = req.params as ArtifactParams;
    const from = parseFrom(queryOf(req).from);
    const target = repositoryPathName(params.project_name, params.repository_name);
    const targetProject = await projects.findByName(params.project_name);
    if (!targetProject) throw apiError('NOT_FOUND', `project ${params.project_name} not found`);
    await guard.require(req.identity, toRef(targetProject), 'artifact', 'create');
    const sourceProjectName = from.repository.split('/')[0];
    const sourceProject = await projects.findByName(sourceProjectName);
    if (!sourceProject) throw apiError('NOT_FOUND', `project ${sourceProjectName} not found`);
    await guard.require(req.identity, toRef(sourceProject), 'repository', 'pull');
    const sourceRepo = await artifacts.repository(from.repository);
    const source = await artifacts.resolve(sourceRepo, from.reference);
    await artifacts.copy(source, target, actor(req));
    return reply.code(201).header('location', artifactPath(target, source.digest)).send();
  });

  const getArtifact = operation({
    tags,
    operationId: 'getArtifact',
    summary: 'Get an artifact',
    params: artifactParams(),
    querystring: object(viewQuery),
    response: { 200: ok(ref('Artifact'), 'The artifact') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get(`${base}/:reference`, { schema: getArtifact }, async (req) => {
    const { artifact } = await artifactFor(req, 'artifact', 'read');
    return artifacts.view(artifact, { ...viewOptions(queryOf(req), req.headers['x-accept-vulnerabilities']), withSignature: true });
  });

  const deleteArtifact = operation({
    tags,
    operationId: 'deleteArtifact',
    summary: 'Delete an artifact',
    description:
      'Deletes the artifact with all its tags and accessories, even when named by one tag; for an index, also each child ' +
      'that no tag and no other index holds. An artifact that an index still lists cannot be deleted (412).',
    params: artifactParams(),
    response: { 200: empty('The artifact was deleted') },
    errors: [400, 401, 403, 404, 412, 500],
  });
  app.delete(`${base}/:reference`, { schema: deleteArtifact }, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'artifact', 'delete');
    await artifacts.delete(repo, artifact, actor(req));
    return reply.code(200).send();
  });

  const listTags = operation({
    tags,
    operationId: 'listTags',
    summary: "List an artifact's tags",
    description: 'Newest first. q filters on id, name, push_time, pull_time.',
    params: artifactParams(),
    querystring: object({ ...listQuery, with_immutable_status: viewQuery.with_immutable_status }),
    response: { 200: page(ref('Tag'), 'One page of tags') },
    errors: [400, 401, 403, 404, 422, 500],
  });
  app.get(`${base}/:reference/tags`, { schema: listTags }, async (req, reply) => {
    const { artifact } = await artifactFor(req, 'tag', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    const withImmutable = boolParam(query.with_immutable_status, 'with_immutable_status') ?? false;
    return sendPage(req, reply, paging, await artifacts.tags(artifact, parseQuery(query.q), query.sort, paging, withImmutable));
  });

  const createTag = operation({
    tags,
    operationId: 'createTag',
    summary: 'Tag an artifact',
    description: 'The tag must not exist in the repository yet (409), even on another artifact.',
    params: artifactParams(),
    body: ref('NewTag'),
    response: { 201: createdWithLocation('The tag was created') },
    errors: [400, 401, 403, 404, 405, 409, 500],
  });
  app.post(`${base}/:reference/tags`, { schema: createTag }, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'tag', 'create');
    const name = bodyOf(req).name;
    await artifacts.createTag(repo, artifact, name, actor(req));
    return reply
      .code(201)
      .header('location', `${artifactPath(repo.name, artifact.digest)}/tags/${String(name)}`)
      .send();
  });

  const deleteTag = operation({
    tags,
    operationId: 'deleteTag',
    summary: 'Remove a tag from an artifact',
    description: 'The artifact stays, untagged if it was its last tag.',
    params: artifactParams({ tag_name: str('The tag to remove') }),
    response: { 200: empty('The tag was removed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.delete(`${base}/:reference/tags/:tag_name`, { schema: deleteTag }, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'tag', 'delete');
    await artifacts.deleteTag(repo, artifact, (req.params as ArtifactParams).tag_name!, actor(req));
    return reply.code(200).send();
  });

  const listAccessories = operation({
    tags,
    operationId: 'listAccessories',
    summary: "List an artifact's accessories",
    description: 'Signatures, SBOMs and attestations attached to the artifact, newest first. q filters on type and digest.',
    params: artifactParams(),
    querystring: object(listQuery),
    response: { 200: page(ref('Accessory'), 'One page of accessories') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get(`${base}/:reference/accessories`, { schema: listAccessories }, async (req, reply) => {
    const { artifact } = await artifactFor(req, 'accessory', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    return sendPage(req, reply, paging, await artifacts.accessories(artifact, parseQuery(query.q), query.sort, paging));
  });

  const getAddition = operation({
    tags,
    operationId: 'getAddition',
    summary: 'Get an addition of an artifact',
    description:
      "Images and WebAssembly modules offer build_history; Helm charts values.yaml, readme.md and dependencies (see the artifact's addition_links). " +
      "Images (not indexes) also offer layers, Berth's own addition: the manifest's layers in order (index, digest, media_type, size). " +
      "Accessories and artifacts an index lists offer parents, Berth's own too: {subject, indexes}, each {digest, tags}.",
    params: artifactParams({ addition: str('The addition', { enum: additionNames }) }),
    response: { 200: additionResponse },
    errors: [400, 401, 403, 404, 422, 500],
  });
  app.get(`${base}/:reference/additions/:addition`, { schema: getAddition }, async (req, reply) => {
    const { artifact } = await artifactFor(req, 'artifact-addition', 'read');
    const addition = await artifacts.addition(artifact, (req.params as ArtifactParams).addition!);
    return reply.type(addition.contentType).send(addition.body);
  });

  const addLabel = operation({
    tags,
    operationId: 'addLabel',
    summary: 'Put a label on an artifact',
    description: "Only the id of the label is read from the body. A global label, or one of the artifact's project.",
    params: artifactParams(),
    body: ref('Label'),
    response: { 200: empty('The label is on the artifact') },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.post(`${base}/:reference/labels`, { schema: addLabel }, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'artifact-label', 'create');
    await artifacts.addLabel(repo, artifact, bodyOf(req).id, actor(req));
    return reply.code(200).send();
  });

  const removeLabel = operation({
    tags,
    operationId: 'removeLabel',
    summary: 'Take a label off an artifact',
    params: artifactParams({ label_id: int('Id of the label', { minimum: 1 }) }),
    response: { 200: empty('The label is off the artifact') },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.delete(`${base}/:reference/labels/:label_id`, { schema: removeLabel }, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'artifact-label', 'delete');
    await artifacts.removeLabel(repo, artifact, idParam((req.params as ArtifactParams).label_id, 'label_id'), actor(req));
    return reply.code(200).send();
  });

  const getIcon = operation({
    tags: ['icon'],
    operationId: 'getIcon',
    summary: 'Get an artifact icon',
    description: "The icon named by an artifact's or accessory's icon field. Open to everyone.",
    params: pathParams({ digest: str('Digest of the icon, as the icon field gives it') }),
    response: { 200: ok(ref('Icon'), 'The icon') },
    errors: [400, 404, 500],
  });
  app.get('/icons/:digest', { schema: getIcon }, async (req) => {
    const digest = (req.params as { digest: string }).digest;
    if (!isDigest(digest)) throw apiError('BAD_REQUEST', `"${digest}" is not a valid digest`);
    const icon = iconByDigest(digest);
    if (!icon) throw apiError('NOT_FOUND', `no icon with digest ${digest}`);
    return icon;
  });
}
