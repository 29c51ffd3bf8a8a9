import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { displayName } from '../auth/identity.js';
import type { RegistryAccess, RegistryAction } from '../auth/registry-access.js';
import { bearerChallenge } from './challenge.js';
import { isAppError, ociError } from '../lib/errors.js';
import { bareMediaType, mediaTypes } from '../oci/mediatypes.js';
import { repositoryNameProblem } from '../oci/names.js';
import type { ByteRange } from '../storage/blobstore.js';
import type { Puller } from './pull-policy.js';
import type { RegistryService, StoredManifest } from './service.js';
import { parseContentRange, type UploadBody, type UploadService } from './uploads.js';

export interface RegistryRouteDeps {
  registry: RegistryService;
  uploads: UploadService;
  access: RegistryAccess;
  externalUrl: string | undefined;
}

type Handler = (req: FastifyRequest, reply: FastifyReply, m: RegExpExecArray) => Promise<unknown>;

/** What a request needs: any signed-in caller, the catalog, or actions on the repository in the URL. */
type Need = 'authenticated' | 'catalog' | RegistryAction;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
  /** Per method; the repository is the route's first capture. */
  needs: Partial<Record<string, Need>>;
  /** Per method: another repository the request reads from (a mount's source), if any. */
  reads?: Partial<Record<string, (req: FastifyRequest) => string | undefined>>;
}

const query = (req: FastifyRequest) => req.query as Record<string, string | string[] | undefined>;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function many(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function parseN(req: FastifyRequest): number | undefined {
  const raw = single(query(req).n);
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw ociError('UNSUPPORTED', `n="${raw}" is not a non-negative integer`, { status: 400 });
  return Math.min(Number(raw), 10000);
}

function contentLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  return raw === undefined ? null : Number(raw);
}

/** The source of a cross-repository mount (`?mount=<digest>&from=<repository>`), when it is a valid name. */
function mountSource(req: FastifyRequest): string | undefined {
  const q = query(req);
  const from = single(q.from);
  return single(q.mount) !== undefined && from !== undefined && repositoryNameProblem(from) === null ? from : undefined;
}

function hasBody(req: IncomingMessage): boolean {
  // HTTP/2 (server.tls) frames bodies itself: a request has one unless its headers ended the stream.
  if (req.httpVersionMajor === 2) return (req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  const length = contentLength(req);
  return (length !== null && length > 0) || req.headers['transfer-encoding'] !== undefined;
}

function uploadBody(req: IncomingMessage): UploadBody {
  const header = req.headers['content-range'];
  let range: ByteRange | null = null;
  if (header !== undefined) {
    range = parseContentRange(header);
    if (!range) throw ociError('RANGE_INVALID', `Content-Range "${header}" must be <start>-<end>`);
  }
  // A stream that stays readable when a reader stops early, so that the rest of the body can be discarded.
  return { stream: req.iterator({ destroyOnReturn: false }), length: contentLength(req), range };
}

/** Reads a small body whole (manifests), refusing more than `limit` bytes with 413. */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => ociError('SIZE_INVALID', `manifest is larger than the ${limit}-byte limit`, { status: 413 });
  const declared = contentLength(req);
  if (declared !== null && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    total += (chunk as Buffer).byteLength;
    if (total > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  if (declared !== null && total !== declared) {
    throw ociError('SIZE_INVALID', `received ${total} bytes, but Content-Length is ${declared}`);
  }
  return Buffer.concat(chunks, total);
}

function parseRangeHeader(header: string, size: number): ByteRange | 'invalid' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

/** Does the Accept header allow this manifest media type? No header (or a wildcard) allows all. */
function accepts(acceptHeader: string | undefined, mediaType: string): boolean {
  if (!acceptHeader) return true;
  for (const part of acceptHeader.split(',')) {
    const type = bareMediaType(part);
    if (type === mediaType || type === '*/*' || type === 'application/*' || type === '') return true;
  }
  return false;
}

/** Does If-None-Match name this digest's ETag? A list, weak tags and "*" count, as RFC 9110 says. */
function etagMatches(header: string | undefined, digest: string): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const tag = part.trim().replace(/^W\//, '');
    return tag === '*' || tag.replace(/"/g, '') === digest;
  });
}

/** Who pulls, for the project's pull policies. */
function puller(req: FastifyRequest): Puller {
  return { identity: req.identity, userAgent: req.headers['user-agent'] ?? '' };
}

function manifestHeaders(reply: FastifyReply, m: StoredManifest): void {
  reply.header('content-type', m.mediaType);
  reply.header('content-length', m.bytes.byteLength);
  reply.header('docker-content-digest', m.digest);
  reply.header('etag', `"${m.digest}"`);
}

function uploadLocation(name: string, id: string) {
  return `/v2/${name}/blobs/uploads/${id}`;
}

function rangeValue(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function linkHeader(path: string, n: number | undefined, next: string | null, extra = ''): string | undefined {
  if (next === null) return undefined;
  const params = new URLSearchParams();
  if (n !== undefined) params.set('n', String(n));
  params.set('last', next);
  return `<${path}?${params.toString()}${extra}>; rel="next"`;
}

export function registryRoutes(deps: RegistryRouteDeps): Route[] {
  const { registry, uploads, access } = deps;
  const decode = (segment: string) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw ociError('NAME_INVALID', `"${segment}" is not valid URL encoding`);
    }
  };

  /** A proxy-cache project's repository fills itself from the upstream first (src/proxycache). */
  const redirectTo = (reply: FastifyReply, repository: string, rest: string) =>
    reply.code(301).header('location', `/v2/${repository}/${rest}`).send();

  const getManifest: Handler = async (req, reply, m) => {
    const name = m[1];
    const reference = decode(m[2]);
    const head = req.method === 'HEAD';
    const proxy = await registry.proxied(name);
    if (proxy) {
      if (proxy.redirect) return redirectTo(reply, proxy.redirect, `manifests/${m[2]}`);
      reply.header('berth-proxy-cache', await proxy.manifest(reference));
    }
    const manifest = await registry.getManifest(name, reference, head ? null : displayName(req.identity), puller(req));
    if (!accepts(req.headers.accept, manifest.mediaType)) {
      throw ociError(
        'MANIFEST_UNKNOWN',
        `manifest ${reference} is ${manifest.mediaType}, which the request's Accept header does not allow`,
      );
    }
    manifestHeaders(reply, manifest);
    if (etagMatches(req.headers['if-none-match'], manifest.digest)) return reply.code(304).send();
    return reply.code(200).send(head ? undefined : manifest.bytes);
  };

  const getBlob: Handler = async (req, reply, m) => {
    const name = m[1];
    const digest = decode(m[2]);
    let size: number;
    try {
      size = await registry.blobSize(name, digest, puller(req));
    } catch (err) {
      const proxy = isAppError(err) && err.code === 'BLOB_UNKNOWN' ? await registry.proxied(name) : null;
      if (!proxy) throw err;
      if (proxy.redirect) return redirectTo(reply, proxy.redirect, `blobs/${m[2]}`);
      // Streamed from the upstream as it arrives, unless the client wants a part of it or only its size.
      const live = await proxy.blob(digest, req.method === 'GET' && req.headers.range === undefined);
      if (live) {
        reply.header('docker-content-digest', digest);
        reply.header('etag', `"${digest}"`);
        reply.header('content-type', mediaTypes.octetStream);
        reply.header('content-length', live.size);
        reply.header('berth-proxy-cache', 'fetched');
        return reply.code(200).send(live.stream);
      }
      size = await registry.blobSize(name, digest, puller(req));
    }
    reply.header('docker-content-digest', digest);
    reply.header('accept-ranges', 'bytes');
    reply.header('etag', `"${digest}"`);
    reply.header('cache-control', 'max-age=31536000');
    reply.header('content-type', mediaTypes.octetStream);
    let range: ByteRange | undefined;
    const rangeHeader = req.headers.range;
    if (rangeHeader !== undefined && size > 0) {
      const parsed = parseRangeHeader(rangeHeader, size);
      if (parsed === 'invalid') {
        reply.header('content-range', `bytes */${size}`);
        throw ociError('RANGE_INVALID', `Range "${rangeHeader}" cannot be satisfied for a blob of ${size} bytes`);
      }
      range = parsed ?? undefined;
    }
    if (req.method === 'HEAD') {
      reply.header('content-length', size);
      return reply.code(200).send();
    }
    const location = await registry.blobRedirect(name, digest);
    if (location) {
      // The URL expires, so this answer must not be cached as the bytes may be.
      reply.removeHeader('accept-ranges');
      reply.removeHeader('content-type');
      return reply.code(307).header('cache-control', 'no-store').header('location', location).send();
    }
    const body = await registry.openBlob(name, digest, range);
    if (range) {
      reply.code(206);
      reply.header('content-range', `bytes ${range.start}-${range.end}/${size}`);
      reply.header('content-length', range.end - range.start + 1);
    } else {
      reply.code(200);
      reply.header('content-length', size);
    }
    return reply.send(body);
  };

  const startUpload: Handler = async (req, reply, m) => {
    const name = m[1];
    const q = query(req);
    const mount = single(q.mount);
    const from = single(q.from);
    // A blob the caller may not read is not mounted; the client uploads it instead, as the spec allows.
    // Without `from`, any repository the caller may pull from will do (the spec makes `from` optional).
    const mayPull = (repository: string) => access.may(req.identity, repository, ['pull']);
    const source =
      mount === undefined ? null : from === undefined ? await uploads.mountSource(mount, mayPull) : (await mayPull(from)) ? from : null;
    if (mount !== undefined && source !== null) {
      if (await uploads.mount(name, mount, source, displayName(req.identity))) {
        reply.header('location', `/v2/${name}/blobs/${mount}`);
        reply.header('docker-content-digest', mount);
        return reply.code(201).send();
      }
    }
    const digest = single(q.digest);
    if (digest !== undefined) {
      const published = await uploads.monolithic(name, digest, uploadBody(req.raw), displayName(req.identity));
      reply.header('location', `/v2/${name}/blobs/${published}`);
      reply.header('docker-content-digest', published);
      return reply.code(201).send();
    }
    const session = await uploads.start(name, single(q['digest-algorithm']));
    reply.header('location', uploadLocation(name, session.id));
    reply.header('docker-upload-uuid', session.id);
    reply.header('range', '0-0');
    return reply.code(202).send();
  };

  const patchUpload: Handler = async (req, reply, m) => {
    const [name, id] = [m[1], m[2]];
    const state = await uploads.append(name, id, uploadBody(req.raw));
    reply.header('location', uploadLocation(name, id));
    reply.header('docker-upload-uuid', id);
    reply.header('range', rangeValue(state.size));
    return reply.code(202).send();
  };

  const putUpload: Handler = async (req, reply, m) => {
    const [name, id] = [m[1], m[2]];
    const body = hasBody(req.raw) ? uploadBody(req.raw) : null;
    const digest = await uploads.complete(name, id, single(query(req).digest), body, displayName(req.identity));
    reply.header('location', `/v2/${name}/blobs/${digest}`);
    reply.header('docker-content-digest', digest);
    return reply.code(201).send();
  };

  const uploadStatus: Handler = async (_req, reply, m) => {
    const [name, id] = [m[1], m[2]];
    const state = await uploads.status(name, id);
    reply.header('location', uploadLocation(name, id));
    reply.header('docker-upload-uuid', id);
    reply.header('range', rangeValue(state.size));
    return reply.code(204).send();
  };

  const cancelUpload: Handler = async (_req, reply, m) => {
    await uploads.cancel(m[1], m[2]);
    return reply.code(204).send();
  };

  const putManifest: Handler = async (req, reply, m) => {
    const name = m[1];
    const reference = decode(m[2]);
    const bytes = await readLimited(req.raw, registry.options.maxManifestBytes);
    const result = await registry.putManifest(
      name,
      reference,
      bytes,
      bareMediaType(req.headers['content-type']),
      displayName(req.identity),
      many(query(req).tag),
    );
    reply.header('location', `/v2/${name}/manifests/${result.digest}`);
    reply.header('docker-content-digest', result.digest);
    if (result.subject) reply.header('oci-subject', result.subject);
    if (result.tags.length > 0) reply.header('oci-tag', result.tags.join(', '));
    return reply.code(201).send();
  };

  const deleteManifest: Handler = async (req, reply, m) => {
    await registry.deleteManifest(m[1], decode(m[2]), displayName(req.identity));
    return reply.code(202).send();
  };

  const deleteBlob: Handler = async (_req, reply, m) => {
    await registry.deleteBlob(m[1], decode(m[2]));
    return reply.code(202).send();
  };

  const listTags: Handler = async (req, reply, m) => {
    const name = m[1];
    const n = parseN(req);
    const proxy = await registry.proxied(name);
    if (proxy?.redirect) return redirectTo(reply, proxy.redirect, 'tags/list');
    const result = proxy
      ? await registry.listTagsWith(name, n, single(query(req).last), await proxy.upstreamTags())
      : await registry.listTags(name, n, single(query(req).last));
    const link = linkHeader(`/v2/${name}/tags/list`, n, result.next);
    if (link) reply.header('link', link);
    return reply
      .code(200)
      .type('application/json; charset=utf-8')
      .send(`{"name":${JSON.stringify(name)},"tags":${result.json}}`);
  };

  const catalog: Handler = async (req, reply) => {
    const n = parseN(req);
    const result = await registry.catalog(n, single(query(req).last));
    const link = linkHeader('/v2/_catalog', n, result.next);
    if (link) reply.header('link', link);
    return reply.code(200).type('application/json; charset=utf-8').send(`{"repositories":${result.json}}`);
  };

  const referrers: Handler = async (req, reply, m) => {
    const artifactType = single(query(req).artifactType);
    const body = await registry.referrers(m[1], decode(m[2]), artifactType);
    reply.header('content-type', mediaTypes.ociIndex);
    if (artifactType !== undefined) reply.header('oci-filters-applied', 'artifactType');
    return reply.code(200).send(body);
  };

  const base: Handler = async (_req, reply) => reply.code(200).send({});

  const name = '([a-z0-9][a-z0-9._/-]*?)';
  const read = { GET: 'pull', HEAD: 'pull' } as const;
  return [
    { pattern: /^\/v2\/?$/, methods: { GET: base, HEAD: base }, needs: { GET: 'authenticated', HEAD: 'authenticated' } },
    { pattern: /^\/v2\/_catalog$/, methods: { GET: catalog }, needs: { GET: 'catalog' } },
    { pattern: new RegExp(`^/v2/${name}/tags/list$`), methods: { GET: listTags }, needs: read },
    {
      pattern: new RegExp(`^/v2/${name}/manifests/([^/]+)$`),
      methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
      needs: { ...read, PUT: 'push', DELETE: 'delete' },
    },
    {
      pattern: new RegExp(`^/v2/${name}/blobs/uploads/?$`),
      methods: { POST: startUpload },
      needs: { POST: 'push' },
      reads: { POST: mountSource },
    },
    {
      pattern: new RegExp(`^/v2/${name}/blobs/uploads/([^/]+)$`),
      methods: { GET: uploadStatus, PATCH: patchUpload, PUT: putUpload, DELETE: cancelUpload },
      needs: { GET: 'push', PATCH: 'push', PUT: 'push', DELETE: 'push' },
    },
    {
      pattern: new RegExp(`^/v2/${name}/blobs/([^/]+)$`),
      methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
      needs: { ...read, DELETE: 'delete' },
    },
    { pattern: new RegExp(`^/v2/${name}/referrers/([^/]+)$`), methods: { GET: referrers }, needs: read },
  ];
}

/**
 * A client sent to `p/library/x` by a Docker Hub proxy cache's redirect (see ProxiedRepository)
 * holds a token for `p/x`, the name it asked for: that token may pull what the redirect names,
 * as Harbor's tokens (whose access is per project) allow. Only for that redirect's target.
 */
async function redirectedPull(
  deps: RegistryRouteDeps,
  identity: FastifyRequest['identity'],
  need: Need,
  repository: string,
): Promise<boolean> {
  if (need !== 'pull' || identity.kind !== 'token') return false;
  const m = /^([^/]+)\/library\/([^/]+)$/.exec(repository);
  if (!m) return false;
  const shortName = `${m[1]}/${m[2]}`;
  return (await deps.registry.proxied(shortName))?.redirect === repository && (await deps.access.may(identity, shortName, ['pull']));
}

/**
 * The one access check of /v2. A caller without credentials (or whose token lacks the
 * scope) is challenged to fetch a token for exactly the scopes needed; a signed-in caller
 * without the permission is denied. `source` is a repository the request also reads (a
 * mount's `from`): as in Distribution, the challenge asks for pull on it too, and a token
 * without it is challenged again, so a client that follows challenges gets the mount.
 * Other callers who may not pull the source get an ordinary upload instead.
 */
async function authorize(
  deps: RegistryRouteDeps,
  req: FastifyRequest,
  need: Need,
  repository: string | undefined,
  source: string | undefined,
): Promise<void> {
  const identity = req.identity;
  const challengeable = identity.kind === 'anonymous' || identity.kind === 'token';
  let scope: string | undefined;
  let detail: Array<{ Type: string; Name: string; Action: string }> = [];
  if (need === 'authenticated') {
    if (identity.kind !== 'anonymous') return;
  } else if (need === 'catalog') {
    if (deps.access.mayListCatalog(identity)) return;
    scope = 'registry:catalog:*';
    detail = [{ Type: 'registry', Name: 'catalog', Action: need }];
  } else {
    const mayTarget = (await deps.access.may(identity, repository!, [need])) || (await redirectedPull(deps, identity, need, repository!));
    const readsSource = source !== undefined && source !== repository;
    const maySource = !readsSource || identity.kind !== 'token' || (await deps.access.may(identity, source, ['pull']));
    if (mayTarget && maySource) return;
    scope = `repository:${repository}:${need === 'push' ? 'pull,push' : need}`;
    detail = [{ Type: 'repository', Name: repository!, Action: need }];
    if (readsSource) {
      scope += ` repository:${source}:pull`;
      detail.push({ Type: 'repository', Name: source, Action: 'pull' });
    }
  }
  if (challengeable) {
    throw ociError('UNAUTHORIZED', 'authentication required', {
      headers: { 'www-authenticate': bearerChallenge(req, deps.externalUrl, scope) },
      detail: scope ? detail : undefined,
    });
  }
  throw ociError('DENIED', `requested access to the resource is denied: ${need} on ${repository ?? 'the catalog'}`);
}

/** Mounts /v2 on Fastify: one catch-all route, dispatched by the patterns above. */
export async function registerRegistryRoutes(app: FastifyInstance, deps: RegistryRouteDeps): Promise<void> {
  const routes = registryRoutes(deps);
  await app.register(async (scope) => {
    // Bodies on /v2 are streamed by the handlers themselves, never parsed or buffered here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));

    const dispatch = async (req: FastifyRequest, reply: FastifyReply) => {
      const url = req.raw.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      for (const route of routes) {
        const m = route.pattern.exec(path);
        if (!m) continue;
        const handler = route.methods[req.method];
        if (!handler) {
          reply.header('allow', Object.keys(route.methods).join(', '));
          throw ociError('UNSUPPORTED', `${req.method} is not supported on ${path}`);
        }
        const need = route.needs[req.method]!;
        await authorize(deps, req, need, m[1], route.reads?.[req.method]?.(req));
        if (need === 'push') {
          // Harbor's refusal: a proxy cache project is filled from its upstream only.
          const proxy = await deps.registry.proxied(m[1]);
          if (proxy) throw ociError('DENIED', `can not push artifact to a proxy project: ${proxy.project}`);
        }
        return handler(req, reply, m);
      }
      const invalidName = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\//.exec(path);
      if (invalidName) throw ociError('NAME_INVALID', `repository name "${invalidName[1]}" is invalid`);
      throw ociError('NAME_UNKNOWN', `no registry endpoint at ${path}`, { status: 404 });
    };
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
    scope.route({ method: [...methods], url: '/v2', handler: dispatch });
    scope.route({ method: [...methods], url: '/v2/*', handler: dispatch });
  });
}
