// The proxy-cache phase: a docker-registry upstream holding N images (several layers each,
// every byte unique to its image), a Berth proxy-cache project in front of it (POST
// /registries with the docker-registry as an endpoint, POST /projects with its registry_id),
// and for each image, in this order:
//   direct  — a pull straight from the docker-registry (before the first pull and again after
//             the cached one; its time is the mean of the two);
//   first   — a pull of the same image through the proxy project (nothing cached: Berth fetches
//             the manifest and every blob from the upstream while it streams them to the client);
//   cached  — the same pull again (the manifest revalidated against the upstream as Harbor does,
//             the blobs served from Berth's own store).
// A warm-up image is pulled each way first and not counted.
// A pull is what docker and podman do: the manifest by tag, then the config and layers three at
// a time, every byte read. Goals: first ≤ 1.3 × direct, cached ≤ 1.0 × direct.
import { SyntheticBlob } from './data.js';
import { Client } from './http.js';
import {
  configOf,
  idFrom,
  imageManifest,
  json,
  pullImage,
  pushSmall,
  pushSynthetic,
  putManifest,
  sleep,
  type Descriptor,
} from './images.js';
import { startDockerRegistry } from './servers.js';

export interface ProxySettings {
  /** Images, each pulled direct, first and cached (the medians are reported). */
  images: number;
  layers: number;
  layerMiB: number;
}

export interface ProxyRun {
  direct: number;
  first: number;
  cached: number;
  /** What the proxy's answers said about how they were served (a cache header, when Berth sends one). */
  firstCache?: string;
  cachedCache?: string;
}

export interface ProxyResult {
  imageMiB: number;
  layers: number;
  runs: ProxyRun[];
}

const project = 'proxybench';

/** A header of the manifest answer that says how a proxy served it, if any. */
function cacheHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const key = Object.keys(headers).find((k) => /proxy|cache/i.test(k) && k !== 'cache-control');
  return key ? `${key}: ${String(headers[key])}` : undefined;
}

/** Waits (bounded) until the proxy project lists the pulled image as an artifact: the cache holds it. */
async function cachedArtifact(client: Client, repo: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const encoded = encodeURIComponent(encodeURIComponent(repo));
  for (;;) {
    const res = await client.request('GET', `/api/v2.0/projects/${project}/repositories/${encoded}/artifacts?page_size=5`);
    if (res.status === 200 && (JSON.parse(res.body.toString('utf8')) as unknown[]).length > 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

export async function measureProxy(client: Client, settings: ProxySettings, log: (line: string) => void): Promise<ProxyResult> {
  const upstream = await startDockerRegistry({ catalogMaxEntries: 1000 });
  const up = new Client(upstream.base);
  try {
    // The upstream's images: library/imgN:latest, every layer unique.
    const stamp = Date.now();
    for (let n = -1; n < settings.images; n++) {
      const repo = n < 0 ? 'library/warmup' : `library/img${n}`;
      const layers: Descriptor[] = [];
      for (let l = 0; l < settings.layers; l++)
        layers.push(await pushSynthetic(up, repo, new SyntheticBlob(settings.layerMiB, `proxy-${stamp}-${n}-${l}`)));
      const config = await pushSmall(up, repo, configOf(`proxy-${stamp}-${n}`));
      await putManifest(up, repo, 'latest', imageManifest(config, layers));
    }
    log(`upstream docker-registry on ${upstream.base}: ${settings.images} images of ${settings.layers} × ${settings.layerMiB} MiB`);

    const registry = await client.expect(
      [201],
      'POST',
      '/api/v2.0/registries',
      json({
        name: `bench-upstream-${stamp}`,
        type: 'docker-registry',
        url: upstream.base,
        insecure: true,
        credential: { type: 'basic', access_key: '', access_secret: '' },
      }),
    );
    const registryId = idFrom(registry.headers.location);
    const created = await client.request(
      'POST',
      '/api/v2.0/projects',
      json({ project_name: project, registry_id: registryId, metadata: { public: 'true' } }),
    );
    if (created.status !== 201)
      throw new Error(
        `POST /api/v2.0/projects with registry_id ${registryId}: HTTP ${created.status}: ${created.body.toString('utf8').slice(0, 300)}`,
      );

    // A warm-up image, not counted: connections, JIT, the project and endpoint lookups.
    await pullImage(up, 'library/warmup', 'latest');
    await pullImage(client, `${project}/library/warmup`, 'latest');
    await pullImage(client, `${project}/library/warmup`, 'latest');

    const runs: ProxyRun[] = [];
    for (let n = 0; n < settings.images; n++) {
      const repo = `library/img${n}`;
      const before = await pullImage(up, repo, 'latest');
      const first = await pullImage(client, `${project}/${repo}`, 'latest');
      if (first.bytes !== before.bytes || first.digest !== before.digest)
        throw new Error(
          `${project}/${repo}: the proxy's pull differs from the upstream's (${first.bytes} vs ${before.bytes} bytes, ${first.digest} vs ${before.digest})`,
        );
      if (!(await cachedArtifact(client, repo, 30_000))) log(`${project}/${repo}: not listed as an artifact 30 s after the first pull`);
      const cached = await pullImage(client, `${project}/${repo}`, 'latest');
      if (cached.bytes !== before.bytes || cached.digest !== before.digest)
        throw new Error(`${project}/${repo}: the cached pull differs from the upstream's`);
      // The direct pull again, so that neither order is favoured: its time is the mean of both.
      const after = await pullImage(up, repo, 'latest');
      const direct = (before.seconds + after.seconds) / 2;
      runs.push({
        direct,
        first: first.seconds,
        cached: cached.seconds,
        firstCache: cacheHeader(first.headers),
        cachedCache: cacheHeader(cached.headers),
      });
      log(
        `img${n}: direct ${direct.toFixed(2)} s (${before.seconds.toFixed(2)}, ${after.seconds.toFixed(2)}), first through the proxy ` +
          `${first.seconds.toFixed(2)} s (${(first.seconds / direct).toFixed(2)}×; ${cacheHeader(first.headers) ?? 'no cache header'}), cached ` +
          `${cached.seconds.toFixed(2)} s (${(cached.seconds / direct).toFixed(2)}×; ${cacheHeader(cached.headers) ?? 'no cache header'})`,
      );
    }
    return { imageMiB: settings.layers * settings.layerMiB, layers: settings.layers, runs };
  } finally {
    up.close();
    await upstream.stop();
  }
}
