// The replication phase: N images with shared base layers pushed into one project of a Berth,
// then copied to an empty docker-registry two ways in the same run, each timed from its start
// until every image is at the destination:
//  - Berth's own replication, driven as a user drives Harbor's: POST /registries (the
//    docker-registry as an endpoint), POST /replication/policies (push-based, name filter on
//    the project, manual trigger), POST /replication/executions, then GET the execution until
//    it ends;
//  - `skopeo sync` of the same images (a YAML list naming each repository, all tags) from the
//    same Berth into a second empty docker-registry.
// Both destinations are then checked: every repository and tag there, and the manifests'
// digests those of the source.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pool, Client } from './http.js';
import {
  catalog,
  configOf,
  gzipLayer,
  idFrom,
  imageManifest,
  json,
  manifestAccept,
  mountOrPush,
  pushSmall,
  putManifest,
  sleep,
  tags,
  type Descriptor,
} from './images.js';
import { startDockerRegistry, type Server } from './servers.js';

export interface ReplicationSettings {
  /** Images (tags) replicated. */
  images: number;
  /** Repositories they are spread over (image i goes to repository i % repositories). */
  repositories: number;
  /** Base images the images share (image i is built on base i % bases). */
  bases: number;
  /** Layers of each base and the size of each, in MiB. */
  baseLayers: number;
  baseLayerMiB: number;
  /** The layer each image has alone, in KiB. */
  topLayerKiB: number;
  /** Clients pushing the images. */
  pushClients: number;
}

export interface ReplicationResult {
  images: number;
  repositories: number;
  /** Distinct blobs and bytes in the set (configs, base layers, top layers). */
  blobs: number;
  bytes: number;
  /** Bytes a copy moves when it skips nothing a repository already has (base layers once per repository). */
  perRepositoryBytes: number;
  seedSeconds: number;
  berthSeconds: number;
  /** The execution's own counts and times. */
  execution: {
    status: string;
    total: number;
    succeed: number;
    failed: number;
    in_progress: number;
    stopped: number;
    start_time?: string;
    end_time?: string;
  };
  skopeoSeconds: number;
}

const project = 'replbench';
const finished = new Set(['Succeed', 'Failed', 'Stopped']);

interface Seeded {
  /** repository → tag → manifest digest */
  digests: Map<string, Map<string, string>>;
  blobs: number;
  bytes: number;
  perRepositoryBytes: number;
}

/** Pushes the image set into project `replbench` (created if missing). */
async function seed(client: Client, s: ReplicationSettings, deadline: number): Promise<Seeded> {
  const created = await client.request('POST', '/api/v2.0/projects', json({ project_name: project, metadata: { public: 'false' } }));
  if (created.status !== 201 && created.status !== 409) throw new Error(`POST /api/v2.0/projects: HTTP ${created.status}: ${created.body}`);
  const repo = (r: number) => `${project}/app${String(r).padStart(3, '0')}`;
  const baseBlobs = Array.from({ length: s.bases }, () =>
    Array.from({ length: s.baseLayers }, () => gzipLayer(s.baseLayerMiB * 1024 * 1024)),
  );
  // Each base's layers are uploaded once (into the first repository that uses them) and
  // mounted into the others, so seeding moves each byte once.
  const home = new Map<number, string>();
  const digests = new Map<string, Map<string, string>>();
  const repoBases = new Map<string, Set<number>>();
  let bytes = 0;
  let blobs = 0;
  // First the base layers, one repository at a time per base (mounts need the source to have them).
  for (let i = 0; i < Math.min(s.images, s.repositories); i++) {
    const b = i % s.bases;
    const r = repo(i % s.repositories);
    if (!home.has(b)) {
      for (const blob of baseBlobs[b]) {
        await pushSmall(client, r, blob);
        bytes += blob.length;
        blobs++;
      }
      home.set(b, r);
    }
  }
  const result = await pool(s.images, s.pushClients, deadline, async (i) => {
    const b = i % s.bases;
    const r = repo(i % s.repositories);
    const layers: Descriptor[] = [];
    for (const blob of baseBlobs[b]) layers.push(await mountOrPush(client, r, home.get(b)!, blob));
    const top = await pushSmall(client, r, gzipLayer(s.topLayerKiB * 1024));
    const config = await pushSmall(client, r, configOf(`replication-${i}-${Date.now()}`));
    bytes += top.size + config.size;
    blobs += 2;
    const tag = `v${i}`;
    const digest = await putManifest(client, r, tag, imageManifest(config, [...layers, top]));
    if (!digests.has(r)) digests.set(r, new Map());
    digests.get(r)!.set(tag, digest);
    if (!repoBases.has(r)) repoBases.set(r, new Set());
    repoBases.get(r)!.add(b);
  });
  if (result.timedOut) throw new Error(`pushing ${s.images} images did not end in time (${result.done} pushed)`);
  let perRepositoryBytes = 0;
  for (const set of repoBases.values()) perRepositoryBytes += set.size * s.baseLayers * s.baseLayerMiB * 1024 * 1024;
  perRepositoryBytes += s.images * s.topLayerKiB * 1024;
  return { digests, blobs, bytes, perRepositoryBytes };
}

/** Every source repository and tag is at the destination with the same manifest digest. */
async function check(dest: Server, seeded: Seeded, who: string): Promise<void> {
  const client = new Client(dest.base);
  try {
    const repos = new Set(await catalog(client));
    for (const [repo, byTag] of seeded.digests) {
      if (!repos.has(repo)) throw new Error(`${who}: ${repo} is not at the destination (it has ${[...repos].slice(0, 5).join(', ')}…)`);
      const there = new Set(await tags(client, repo));
      for (const [tag, digest] of byTag) {
        if (!there.has(tag)) throw new Error(`${who}: ${repo}:${tag} is not at the destination`);
      }
      // One manifest per repository compared byte for byte (by digest).
      const [tag, digest] = [...byTag][0];
      const head = await client.expect([200], 'HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { accept: manifestAccept } });
      if (head.headers['docker-content-digest'] !== digest)
        throw new Error(
          `${who}: ${repo}:${tag} is ${String(head.headers['docker-content-digest'])} at the destination, ${digest} at the source`,
        );
    }
  } finally {
    client.close();
  }
}

/** Berth's replication: endpoint, policy, execution; seconds from the POST of the execution until it is seen ended. */
async function berthReplication(client: Client, dest: Server, timeoutMs: number, log: (line: string) => void) {
  const name = `bench-${Date.now()}`;
  const registry = await client.expect(
    [201],
    'POST',
    '/api/v2.0/registries',
    json({
      name,
      type: 'docker-registry',
      url: dest.base,
      insecure: true,
      credential: { type: 'basic', access_key: '', access_secret: '' },
    }),
  );
  const registryId = idFrom(registry.headers.location);
  const policy = await client.expect(
    [201],
    'POST',
    '/api/v2.0/replication/policies',
    json({
      name,
      description: 'bench: every image of the project to an empty docker-registry',
      dest_registry: { id: registryId },
      dest_namespace: '',
      filters: [{ type: 'name', value: `${project}/**` }],
      trigger: { type: 'manual' },
      replicate_deletion: false,
      override: true,
      enabled: true,
      speed: -1,
    }),
  );
  const policyId = idFrom(policy.headers.location);
  const t0 = performance.now();
  const started = await client.expect([201], 'POST', '/api/v2.0/replication/executions', json({ policy_id: policyId }));
  const executionId = idFrom(started.headers.location);
  const deadline = Date.now() + timeoutMs;
  let lastLog = Date.now();
  for (;;) {
    const e = JSON.parse(
      (await client.expect([200], 'GET', `/api/v2.0/replication/executions/${executionId}`)).body.toString('utf8'),
    ) as ReplicationResult['execution'];
    if (finished.has(e.status)) {
      const seconds = (performance.now() - t0) / 1000;
      if (e.status !== 'Succeed') {
        const failed = await client.request('GET', `/api/v2.0/replication/executions/${executionId}/tasks?status=Failed&page_size=3`);
        throw new Error(
          `replication execution ${executionId} ended ${e.status} (${JSON.stringify(e)}); failed tasks: ${failed.body.toString('utf8').slice(0, 800)}`,
        );
      }
      await slowestTask(client, executionId, log);
      return { seconds, execution: e };
    }
    if (Date.now() > deadline)
      throw new Error(`replication execution ${executionId} did not end in ${timeoutMs / 1000} s: ${JSON.stringify(e)}`);
    if (Date.now() - lastLog > 10_000) {
      log(`replication: ${e.succeed}/${e.total} tasks done, ${e.in_progress} in progress, ${e.failed} failed`);
      lastLog = Date.now();
    }
    await sleep(100);
  }
}

/** Logs the task that took longest, with its log: where an execution's time went. */
async function slowestTask(client: Client, executionId: number, log: (line: string) => void): Promise<void> {
  type Task = { id: number; start_time: string; end_time: string; src_resource: string };
  const tasks: Task[] = [];
  for (let page = 1; ; page++) {
    const res = await client.expect([200], 'GET', `/api/v2.0/replication/executions/${executionId}/tasks?page=${page}&page_size=100`);
    const batch = JSON.parse(res.body.toString('utf8')) as Task[];
    tasks.push(...batch);
    if (batch.length < 100) break;
  }
  const took = (t: Task) => (Date.parse(t.end_time) - Date.parse(t.start_time)) / 1000;
  const sorted = [...tasks].sort((a, b) => took(a) - took(b));
  const slowest = sorted.at(-1);
  if (!slowest) return;
  log(
    `tasks took ${took(sorted[Math.floor(sorted.length / 2)]).toFixed(2)} s (median), ${took(slowest).toFixed(2)} s at most (${slowest.src_resource}):`,
  );
  const text = (await client.request('GET', `/api/v2.0/replication/executions/${executionId}/tasks/${slowest.id}/log`)).body.toString(
    'utf8',
  );
  for (const line of text.trim().split('\n').slice(-12)) log(`  ${line}`);
}

/** `skopeo sync` of every seeded repository (all tags) from the Berth into `dest`; seconds. */
async function skopeoSync(source: Client, password: string, seeded: Seeded, dest: Server, timeoutMs: number): Promise<number> {
  const work = await mkdtemp(path.join(tmpdir(), 'berth-bench-skopeo-'));
  try {
    const host = new URL(source.base).host;
    const yaml = [
      `${host}:`,
      '  tls-verify: false',
      '  credentials:',
      '    username: admin',
      `    password: ${JSON.stringify(password)}`,
      '  images:',
      ...[...seeded.digests.keys()].sort().map((repo) => `    ${repo}: []`),
      '',
    ].join('\n');
    const file = path.join(work, 'sync.yaml');
    await writeFile(file, yaml);
    const destHost = new URL(dest.base).host;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        'skopeo',
        [
          '--insecure-policy',
          'sync',
          '--src',
          'yaml',
          '--dest',
          'docker',
          '--dest-tls-verify=false',
          '--dest-no-creds',
          file,
          `${destHost}/${project}`,
        ],
        { env: { ...process.env, REGISTRY_AUTH_FILE: path.join(work, 'auth.json'), TMPDIR: work }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`skopeo sync ended ${code ?? signal}: ${err}`));
      });
    });
    return (performance.now() - t0) / 1000;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Seeds the images into the Berth behind `client`, then replicates them to one fresh
 * docker-registry through Berth's API and `skopeo sync`s them into another.
 */
export async function measureReplication(
  client: Client,
  password: string,
  settings: ReplicationSettings,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<ReplicationResult> {
  const t0 = performance.now();
  const seeded = await seed(client, settings, Date.now() + timeoutMs);
  const seedSeconds = (performance.now() - t0) / 1000;
  log(
    `seeded ${settings.images} images in ${seeded.digests.size} repositories (${seeded.blobs} blobs, ${(seeded.bytes / 1048576).toFixed(1)} MiB distinct) in ${seedSeconds.toFixed(1)} s`,
  );
  const berthDest = await startDockerRegistry({ catalogMaxEntries: 1000 });
  const skopeoDest = await startDockerRegistry({ catalogMaxEntries: 1000 });
  try {
    const berth = await berthReplication(client, berthDest, timeoutMs, log);
    log(`Berth replication: ${berth.execution.total} tasks in ${berth.seconds.toFixed(1)} s`);
    await check(berthDest, seeded, 'Berth replication');
    const skopeoSeconds = await skopeoSync(client, password, seeded, skopeoDest, timeoutMs);
    log(`skopeo sync: ${skopeoSeconds.toFixed(1)} s`);
    await check(skopeoDest, seeded, 'skopeo sync');
    log(`both destinations hold every image with the source's digests; Berth / skopeo time ${(berth.seconds / skopeoSeconds).toFixed(2)}`);
    return {
      images: settings.images,
      repositories: seeded.digests.size,
      blobs: seeded.blobs,
      bytes: seeded.bytes,
      perRepositoryBytes: seeded.perRepositoryBytes,
      seedSeconds,
      berthSeconds: berth.seconds,
      execution: berth.execution,
      skopeoSeconds,
    };
  } finally {
    await berthDest.stop();
    await skopeoDest.stop();
  }
}
