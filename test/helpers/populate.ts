import { pushImage, pushManifest, types } from './oci.js';

/**
 * A small, deterministic set of content made through the public interfaces only (/v2 and
 * /api/v2.0), so that it can be made by any release of Berth: the backup round trip and the
 * upgrade fixture (scripts/upgrade-fixture.ts) both use it. Every byte pushed is fixed, so
 * the digests are the same on every run.
 */
export interface Populated {
  /** Every manifest pushed: repository, tag (or null when pushed by digest only) and digest. */
  manifests: Array<{ repository: string; tag: string | null; digest: string }>;
  /** Every blob pushed (configs and layers), by repository. */
  blobs: Array<{ repository: string; digest: string }>;
}

async function call(base: string, auth: string, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${base}/api/v2.0${path}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

/** Makes the content on the Berth at `base`, signed in with `auth` (a system administrator's Authorization header). */
export async function populate(base: string, auth: string): Promise<Populated> {
  const headers = { authorization: auth };
  await call(base, auth, 'POST', '/projects', { project_name: 'ops', metadata: { public: 'false' } });
  await call(base, auth, 'POST', '/projects', { project_name: 'shared', metadata: { public: 'true' } });
  const populated: Populated = { manifests: [], blobs: [] };
  const images: Array<[string, string, string]> = [
    ['ops/app', '1.0', 'layer: ops/app 1.0'],
    ['ops/app', '1.1', 'layer: ops/app 1.1'],
    ['shared/base', 'latest', 'layer: shared/base latest'],
  ];
  const pushed: Record<string, Awaited<ReturnType<typeof pushImage>>> = {};
  for (const [repository, tag, layer] of images) {
    const image = await pushImage(base, repository, tag, { layer, headers });
    pushed[`${repository}:${tag}`] = image;
    populated.manifests.push({ repository, tag, digest: image.digest });
    populated.blobs.push({ repository, digest: image.config.digest }, { repository, digest: image.layer.digest });
  }
  // A second tag on one artifact, and an index over the two app images.
  const app10 = pushed['ops/app:1.0'];
  await pushManifest(base, 'ops/app', 'stable', app10.manifest, types.manifest, headers);
  populated.manifests.push({ repository: 'ops/app', tag: 'stable', digest: app10.digest });
  const index = await pushManifest(
    base,
    'ops/app',
    'multi',
    {
      schemaVersion: 2,
      mediaType: types.index,
      manifests: [
        { mediaType: types.manifest, digest: app10.digest, size: app10.size, platform: { architecture: 'amd64', os: 'linux' } },
        {
          mediaType: types.manifest,
          digest: pushed['ops/app:1.1'].digest,
          size: pushed['ops/app:1.1'].size,
          platform: { architecture: 'arm64', os: 'linux' },
        },
      ],
    },
    types.index,
    headers,
  );
  populated.manifests.push({ repository: 'ops/app', tag: 'multi', digest: index.digest });

  const label = await call(base, auth, 'POST', '/labels', { name: 'release', color: '#00AA00', scope: 'g', description: 'released' });
  const labelId = Number(label.headers.get('location')!.split('/').pop());
  await call(base, auth, 'POST', `/projects/ops/repositories/app/artifacts/${app10.digest}/labels`, { id: labelId });
  await call(base, auth, 'POST', '/robots', {
    name: 'ci',
    description: 'pushes ops',
    duration: -1,
    level: 'project',
    permissions: [
      {
        kind: 'project',
        namespace: 'ops',
        access: [
          { resource: 'repository', action: 'pull' },
          { resource: 'repository', action: 'push' },
        ],
      },
    ],
  });
  return populated;
}

/**
 * What the API lists about the content, with the fields that must survive a backup and
 * restore or an upgrade (ids and times included: they are data, not presentation).
 */
export async function listings(base: string, auth: string): Promise<Record<string, unknown>> {
  const get = async (path: string) => (await call(base, auth, 'GET', path)).json();
  const projects = (await get('/projects?page_size=100&sort=name')) as Array<{ name: string; project_id: number; metadata: unknown }>;
  const out: Record<string, unknown> = {
    projects: projects.map((p) => ({ name: p.name, project_id: p.project_id, metadata: p.metadata })),
    labels: ((await get('/labels?scope=g&page_size=100')) as Array<{ id: number; name: string; color: string }>).map((l) => ({
      id: l.id,
      name: l.name,
      color: l.color,
    })),
    robots: ((await get('/robots?page_size=100')) as Array<{ name: string; level: string; disable: boolean; permissions: unknown }>).map(
      (r) => ({ name: r.name, level: r.level, disable: r.disable, permissions: r.permissions }),
    ),
  };
  for (const project of projects) {
    const repos = (await get(`/projects/${project.name}/repositories?page_size=100&sort=name`)) as Array<{
      name: string;
      artifact_count: number;
    }>;
    out[`repositories:${project.name}`] = repos.map((r) => ({ name: r.name, artifact_count: r.artifact_count }));
    for (const repo of repos) {
      const short = repo.name.slice(project.name.length + 1);
      const artifacts = (await get(
        `/projects/${project.name}/repositories/${encodeURIComponent(encodeURIComponent(short))}/artifacts?page_size=100&with_label=true&sort=digest`,
      )) as Array<{ digest: string; size: number; tags: Array<{ name: string }> | null; labels: Array<{ name: string }> | null }>;
      out[`artifacts:${repo.name}`] = artifacts
        .map((a) => ({
          digest: a.digest,
          size: a.size,
          tags: (a.tags ?? []).map((t) => t.name).sort(),
          labels: (a.labels ?? []).map((l) => l.name).sort(),
        }))
        .sort((a, b) => a.digest.localeCompare(b.digest));
    }
  }
  return out;
}
