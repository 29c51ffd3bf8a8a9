import assert from 'node:assert/strict';
import { api } from '../helpers/api.js';
import { waitFor } from '../jobs/databases.js';
import type { TestServer } from '../helpers/server.js';

export interface Run {
  id: number;
  job_name: string;
  job_kind: string;
  job_parameters: string;
  job_status: string;
  schedule: { type: string; cron: string };
  results: Record<string, number> & { problems: number; message: string | null; start_time: string | null; end_time: string | null };
}

export interface Finding {
  id: number;
  kind: string;
  digest: string;
  repository: string | null;
  artifact_digest: string | null;
  expected_size: number | null;
  actual_size: number | null;
  actual_digest: string | null;
  quarantined: boolean;
  message: string;
}

/** Starts a scrub through the API as Harbor's GC is started; answers the run's id. */
export async function startScrub(server: TestServer, parameters: Record<string, unknown> = {}): Promise<number> {
  const res = await api(server, 'POST', '/system/scrub/schedule', {
    auth: server.admin.authorization,
    body: { schedule: { type: 'Manual' }, parameters },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const location = res.headers.get('location');
  assert.match(location ?? '', /^\/api\/v2\.0\/system\/scrub\/\d+$/);
  return Number(location!.split('/').pop());
}

export async function runOf(server: TestServer, id: number): Promise<Run> {
  const res = await api<Run>(server, 'GET', `/system/scrub/${id}`, { auth: server.admin.authorization });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Waits for the run to end and answers it. */
export function ended(server: TestServer, id: number): Promise<Run> {
  return waitFor(
    () => runOf(server, id),
    (run) => !['Pending', 'Running'].includes(run.job_status),
    `scrub ${id} to end`,
    60_000,
  );
}

/** Starts a scrub, waits for it, and answers it with its findings. */
export async function scrub(server: TestServer, parameters: Record<string, unknown> = {}): Promise<{ run: Run; findings: Finding[] }> {
  const run = await ended(server, await startScrub(server, parameters));
  assert.equal(run.job_status, 'Success', JSON.stringify(run));
  const res = await api<Finding[]>(server, 'GET', `/system/scrub/${run.id}/findings?page_size=100`, { auth: server.admin.authorization });
  assert.equal(res.status, 200);
  return { run, findings: res.body };
}
