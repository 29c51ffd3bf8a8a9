import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, boolParam, idParam, isResourceName, pagingOf, queryOf, repositoryPathName, sendPage, type Query } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
import { isDigest } from '../oci/digest.js';
import { isTag } from '../oci/names.js';
import { toRef, type ProjectService } from '../projects/service.js';
import type { RepositoryRow } from '../registry/store.js';
import { iconByDigest } from './icons.js';
import { artifactPath, defaultViewOptions, type ArtifactService, type ViewOptions } from './service.js';

export interface ArtifactRouteDeps {
  artifacts: ArtifactService;
  projects: ProjectService;
  guard: AccessGuard;
}

type ArtifactParams = { project_name: string; repository_name: string; reference?: string; tag_name?: string; label_id?: string; addition?: string };

function viewOptions(query: Query): ViewOptions {
  const flag = (name: string, fallback: boolean) => boolParam(query[name], name) ?? fallback;
  return {
    withTag: flag('with_tag', defaultViewOptions.withTag),
    withLabel: flag('with_label', defaultViewOptions.withLabel),
    withScanOverview: flag('with_scan_overview', defaultViewOptions.withScanOverview),
    withSignature: flag('with_signature', defaultViewOptions.withSignature),
    withImmutableStatus: flag('with_immutable_status', defaultViewOptions.withImmutableStatus),
    withAccessory: flag('with_accessory', defaultViewOptions.withAccessory),
  };
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

  app.get(base, async (req, reply) => {
    const repo = await repositoryFor(req, 'artifact', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    const page = await artifacts.list({ repositoryId: repo.id }, parseQuery(query.q), query.sort, paging, viewOptions(query));
    return sendPage(req, reply, paging, page);
  });

  // Every repository's artifacts in a project; latest_in_repository keeps the newest of each.
  app.get('/projects/:project_name_or_id/artifacts', async (req, reply) => {
    const project = await projects.resolve((req.params as { project_name_or_id: string }).project_name_or_id, isResourceName(req));
    await guard.require(req.identity, toRef(project), 'artifact', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    const latestInRepository = boolParam(query.latest_in_repository, 'latest_in_repository') ?? false;
    const scope = { projectId: Number(project.id), latestInRepository };
    return sendPage(req, reply, paging, await artifacts.list(scope, parseQuery(query.q), query.sort, paging, viewOptions(query)));
  });

  app.post(base, async (req, reply) => {
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
    await artifacts.copy(sourceRepo.name, source.digest, target, actor(req));
    return reply.code(201).header('location', artifactPath(target, source.digest)).send();
  });

  app.get(`${base}/:reference`, async (req) => {
    const { artifact } = await artifactFor(req, 'artifact', 'read');
    return artifacts.view(artifact, viewOptions(queryOf(req)));
  });

  app.delete(`${base}/:reference`, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'artifact', 'delete');
    await artifacts.delete(repo, artifact, actor(req));
    return reply.code(200).send();
  });

  app.get(`${base}/:reference/tags`, async (req, reply) => {
    const { artifact } = await artifactFor(req, 'tag', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    const withImmutable = boolParam(query.with_immutable_status, 'with_immutable_status') ?? false;
    return sendPage(req, reply, paging, await artifacts.tags(artifact, parseQuery(query.q), query.sort, paging, withImmutable));
  });

  app.post(`${base}/:reference/tags`, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'tag', 'create');
    const name = bodyOf(req).name;
    await artifacts.createTag(repo, artifact, name, actor(req));
    return reply.code(201).header('location', `${artifactPath(repo.name, artifact.digest)}/tags/${String(name)}`).send();
  });

  app.delete(`${base}/:reference/tags/:tag_name`, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'tag', 'delete');
    await artifacts.deleteTag(repo, artifact, (req.params as ArtifactParams).tag_name!, actor(req));
    return reply.code(200).send();
  });

  app.get(`${base}/:reference/accessories`, async (req, reply) => {
    const { artifact } = await artifactFor(req, 'accessory', 'list');
    const query = queryOf(req);
    const paging = pagingOf(req);
    return sendPage(req, reply, paging, await artifacts.accessories(artifact, parseQuery(query.q), query.sort, paging));
  });

  app.get(`${base}/:reference/additions/:addition`, async (req, reply) => {
    const { artifact } = await artifactFor(req, 'artifact-addition', 'read');
    const addition = await artifacts.addition(artifact, (req.params as ArtifactParams).addition!);
    return reply.type(addition.contentType).send(addition.body);
  });

  app.post(`${base}/:reference/labels`, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'artifact-label', 'create');
    await artifacts.addLabel(repo, artifact, bodyOf(req).id, actor(req));
    return reply.code(200).send();
  });

  app.delete(`${base}/:reference/labels/:label_id`, async (req, reply) => {
    const { repo, artifact } = await artifactFor(req, 'artifact-label', 'delete');
    await artifacts.removeLabel(repo, artifact, idParam((req.params as ArtifactParams).label_id, 'label_id'), actor(req));
    return reply.code(200).send();
  });

  app.get('/icons/:digest', async (req) => {
    const digest = (req.params as { digest: string }).digest;
    if (!isDigest(digest)) throw apiError('BAD_REQUEST', `"${digest}" is not a valid digest`);
    const icon = iconByDigest(digest);
    if (!icon) throw apiError('NOT_FOUND', `no icon with digest ${digest}`);
    return icon;
  });
}
