// The retention phase: one project of `repositories` repositories with `perRepository` tagged
// artifacts each, a policy keeping the 10 most recently pushed per repository, then a dry run
// and a real run timed by the execution's own start and end (one RETENTION_TASK per
// repository on the job queue; every removal goes through the artifact service's delete).
import { createHash } from 'node:crypto';
import { pool, type Client } from './http.js';

export interface RetentionSettings {
  repositories: number;
  perRepository: number;
  /** Artifacts each repository keeps (latestPushedK). */
  keep: number;
  concurrency: number;
}

export interface RetentionResult {
  artifacts: number;
  populateSeconds: number;
  dryRunSeconds: number;
  realRunSeconds: number;
  removed: number;
  retained: number;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const json = (value: unknown) => ({ headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(value)) });

async function pushSmall(client: Client, repo: string, data: Buffer): Promise<void> {
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const put = client.url(String(start.headers.location));
  put.searchParams.set('digest', sha256(data));
  await client.expect([201], 'PUT', put.href, { headers: { 'content-type': 'application/octet-stream' }, body: data });
}

async function timedRun(client: Client, policyId: number, dryRun: boolean, deadline: number) {
  const kick = await client.expect([201], 'POST', `/api/v2.0/retentions/${policyId}/executions`, json({ dry_run: dryRun }));
  const eid = Number(String(kick.headers.location).split('/').pop());
  for (;;) {
    const list = JSON.parse(
      (await client.expect([200], 'GET', `/api/v2.0/retentions/${policyId}/executions?page_size=100`)).body.toString('utf8'),
    );
    const e = list.find((x: { id: number }) => x.id === eid);
    if (e && ['Success', 'Error', 'Stopped'].includes(e.status)) {
      if (e.status !== 'Success') throw new Error(`retention execution ${eid} ended ${e.status}`);
      let retained = 0;
      let total = 0;
      for (let page = 1; ; page++) {
        const tasks = JSON.parse(
          (
            await client.expect([200], 'GET', `/api/v2.0/retentions/${policyId}/executions/${eid}/tasks?page=${page}&page_size=100`)
          ).body.toString('utf8'),
        ) as Array<{ retained: number; total: number }>;
        for (const t of tasks) {
          retained += t.retained;
          total += t.total;
        }
        if (tasks.length < 100) break;
      }
      return { seconds: (Date.parse(e.end_time) - Date.parse(e.start_time)) / 1000, retained, total };
    }
    if (Date.now() > deadline) throw new Error(`retention execution ${eid} did not end within the phase deadline`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs the phase on one Berth; `log` reports each step. */
export async function measureRetention(
  client: Client,
  s: RetentionSettings,
  deadline: number,
  log: (line: string) => void,
): Promise<RetentionResult> {
  const project = `bench-retention-${Date.now().toString(36)}`;
  const created = await client.expect([201], 'POST', '/api/v2.0/projects', json({ project_name: project, metadata: { public: 'false' } }));
  const projectId = Number(String(created.headers.location).split('/').pop());
  const t0 = performance.now();
  // One config and one layer per repository; each artifact is a manifest of its own (an annotation differs).
  const blobs = new Map<number, { config: Buffer; layer: Buffer }>();
  const prepared = await pool(s.repositories, s.concurrency, deadline, async (r) => {
    const repo = `${project}/app-${r}`;
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, repo }));
    const layer = Buffer.from(`layer of ${repo}`);
    await pushSmall(client, repo, config);
    await pushSmall(client, repo, layer);
    blobs.set(r, { config, layer });
  });
  if (prepared.timedOut) throw new Error('the retention phase ran past its deadline while pushing blobs');
  const total = s.repositories * s.perRepository;
  // Artifacts of one repository are pushed in order (their push times order them); repositories in parallel.
  const pushed = await pool(s.repositories, s.concurrency, deadline, async (r) => {
    const repo = `${project}/app-${r}`;
    const { config, layer } = blobs.get(r)!;
    for (let i = 0; i < s.perRepository; i++) {
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
          annotations: { build: String(i) },
        }),
      );
      await client.expect([201], 'PUT', `/v2/${repo}/manifests/build-${i}`, {
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: manifest,
      });
    }
  });
  if (pushed.timedOut) throw new Error(`the retention phase ran past its deadline after ${pushed.done} of ${s.repositories} repositories`);
  const populateSeconds = (performance.now() - t0) / 1000;
  log(`pushed ${total} artifacts into ${s.repositories} repositories in ${populateSeconds.toFixed(1)} s`);
  const policy = {
    algorithm: 'or',
    rules: [
      {
        disabled: false,
        action: 'retain',
        template: 'latestPushedK',
        params: { latestPushedK: s.keep },
        tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**', extras: '{"untagged":true}' }],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
      },
    ],
    trigger: { kind: 'Schedule', settings: { cron: '' } },
    scope: { level: 'project', ref: projectId },
  };
  const res = await client.expect([201], 'POST', '/api/v2.0/retentions', json(policy));
  const policyId = Number(String(res.headers.location).split('/').pop());
  const dry = await timedRun(client, policyId, true, deadline);
  log(`dry run: ${dry.total} candidates, ${dry.retained} retained, in ${dry.seconds.toFixed(2)} s`);
  const real = await timedRun(client, policyId, false, deadline);
  log(`real run: removed ${real.total - real.retained} of ${real.total}, in ${real.seconds.toFixed(2)} s`);
  if (real.total !== total || real.retained !== s.repositories * s.keep) {
    throw new Error(
      `the real run saw ${real.total} candidates and retained ${real.retained}; expected ${total} and ${s.repositories * s.keep}`,
    );
  }
  return {
    artifacts: total,
    populateSeconds,
    dryRunSeconds: dry.seconds,
    realRunSeconds: real.seconds,
    removed: real.total - real.retained,
    retained: real.retained,
  };
}
