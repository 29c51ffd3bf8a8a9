import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api } from '../helpers/api.js';
import type { TestServer } from '../helpers/server.js';
import { pushImage } from '../gc/helpers.js';
import { waitFor } from '../jobs/databases.js';

/** Creates a project as admin; returns its id. */
export async function createProject(server: TestServer, name: string): Promise<number> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: 'false' } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

/** Pushes a small image under `tag` (or by digest when null); returns its digest. */
export async function push(server: TestServer, repo: string, tag: string | null): Promise<string> {
  return (await pushImage(server, repo, tag, [randomBytes(48)])).digest;
}

/**
 * Sets an artifact's push and pull times (and its tags', unless `tags` gives them per tag)
 * straight in the database: the test's clock for the templates.
 */
export async function setTimes(
  server: TestServer,
  repo: string,
  digest: string,
  times: { push: string; pull?: string | null; tags?: Record<string, { push: string; pull?: string | null }> },
): Promise<void> {
  const db = server.berth.database.db;
  const repository = await db.selectFrom('repositories').select('id').where('name', '=', repo).executeTakeFirstOrThrow();
  const artifact = await db
    .selectFrom('artifacts')
    .select('id')
    .where('repository_id', '=', repository.id)
    .where('digest', '=', digest)
    .executeTakeFirstOrThrow();
  await db
    .updateTable('artifacts')
    .set({ push_time: times.push, pull_time: times.pull ?? null })
    .where('id', '=', artifact.id)
    .execute();
  await db
    .updateTable('tags')
    .set({ push_time: times.push, pull_time: times.pull ?? null })
    .where('artifact_id', '=', artifact.id)
    .execute();
  for (const [name, t] of Object.entries(times.tags ?? {})) {
    await db
      .updateTable('tags')
      .set({ push_time: t.push, pull_time: t.pull ?? null })
      .where('artifact_id', '=', artifact.id)
      .where('name', '=', name)
      .execute();
  }
}

export const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

export interface RuleOptions {
  tags?: string;
  tagDecoration?: 'matches' | 'excludes';
  untagged?: boolean;
  repos?: string;
  repoDecoration?: 'repoMatches' | 'repoExcludes';
  labels?: { decoration: 'withLabels' | 'withoutLabels'; names: string };
  disabled?: boolean;
}

/** A rule as Harbor's portal sends it. */
export function rule(template: string, param: number | null, o: RuleOptions = {}) {
  return {
    disabled: o.disabled ?? false,
    action: 'retain',
    template,
    params: param === null ? {} : { [template]: param },
    tag_selectors: [
      {
        kind: 'doublestar',
        decoration: o.tagDecoration ?? 'matches',
        pattern: o.tags ?? '**',
        extras: JSON.stringify({ untagged: o.untagged ?? true }),
      },
      ...(o.labels ? [{ kind: 'label', decoration: o.labels.decoration, pattern: o.labels.names }] : []),
    ],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: o.repoDecoration ?? 'repoMatches', pattern: o.repos ?? '**' }] },
  };
}

export function policy(projectId: number, rules: unknown[], extra: Record<string, unknown> = {}) {
  return {
    algorithm: 'or',
    rules,
    trigger: { kind: 'Schedule', settings: { cron: '' } },
    scope: { level: 'project', ref: projectId },
    ...extra,
  };
}

/** Creates the project's policy, or replaces its rules; returns its id. */
export async function savePolicy(
  server: TestServer,
  projectId: number,
  rules: unknown[],
  extra: Record<string, unknown> = {},
): Promise<number> {
  const auth = server.admin.authorization;
  const meta = await api(server, 'GET', `/projects/${projectId}/metadatas/retention_id`, { auth });
  if (meta.status === 200) {
    const id = Number(meta.body.retention_id);
    const res = await api(server, 'PUT', `/retentions/${id}`, { auth, body: policy(projectId, rules, extra) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return id;
  }
  const res = await api(server, 'POST', '/retentions', { auth, body: policy(projectId, rules, extra) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

export interface RunResult {
  execution: any;
  tasks: any[];
  /** repository → its task's log. */
  logs: Map<string, string>;
  /** digest → what the log says retention did (RETAIN, DEL, DEL TAGS …). */
  actions: Map<string, string>;
}

/** Parses a task log's table: digest → the Retention column. */
export function actionsOf(log: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of log.split('\n')) {
    const m = /^(sha256:[0-9a-f]{64})\s+(\S+)\s+(\S+)\s+(\S+)\s+(RETAIN|DEL TAGS \S+|DEL|FAILED \S+)/.exec(line);
    if (m) out.set(m[1], m[5]);
  }
  return out;
}

/** Runs the policy (dry or not) and waits for the execution to end. */
export async function run(server: TestServer, policyId: number, dryRun: boolean): Promise<RunResult> {
  const auth = server.admin.authorization;
  const res = await api(server, 'POST', `/retentions/${policyId}/executions`, { auth, body: { dry_run: dryRun } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const location = res.headers.get('location')!;
  assert.match(location, new RegExp(`^/api/v2\\.0/retentions/${policyId}/executions/\\d+$`));
  const eid = Number(location.split('/').pop());
  const execution = await waitFor(
    async () =>
      (await api(server, 'GET', `/retentions/${policyId}/executions?page_size=100`, { auth })).body.find((e: any) => e.id === eid),
    (e) => e !== undefined && ['Success', 'Error', 'Stopped'].includes(e.status),
    `execution ${eid} to end`,
  );
  const tasks = (await api(server, 'GET', `/retentions/${policyId}/executions/${eid}/tasks?page_size=100`, { auth })).body as any[];
  const logs = new Map<string, string>();
  const actions = new Map<string, string>();
  for (const t of tasks) {
    const log = await api(server, 'GET', `/retentions/${policyId}/executions/${eid}/tasks/${t.id}`, { auth });
    assert.equal(log.status, 200);
    logs.set(t.repository, String(log.body));
    for (const [d, a] of actionsOf(String(log.body))) actions.set(d, a);
  }
  return { execution, tasks, logs, actions };
}

/** The digests a repository holds now, from the database. */
export async function digestsOf(server: TestServer, repo: string): Promise<Set<string>> {
  const rows = await server.berth.database.db
    .selectFrom('artifacts')
    .innerJoin('repositories', 'repositories.id', 'artifacts.repository_id')
    .select('artifacts.digest')
    .where('repositories.name', '=', repo)
    .execute();
  return new Set(rows.map((r) => r.digest));
}

export async function tagsOf(server: TestServer, repo: string): Promise<string[]> {
  const rows = await server.berth.database.db
    .selectFrom('tags')
    .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
    .select('tags.name')
    .where('repositories.name', '=', repo)
    .orderBy('tags.name')
    .execute();
  return rows.map((r) => r.name);
}
