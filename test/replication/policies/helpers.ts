import { api } from '../../helpers/api.js';
import type { TestServer } from '../../helpers/server.js';

/** Creates a registry endpoint of type docker-registry for `url` (Berth pings it first) and returns its id. */
export async function createEndpoint(server: TestServer, url: string, name: string): Promise<number> {
  const res = await api(server, 'POST', '/registries', {
    auth: server.admin.authorization,
    body: { name, type: 'docker-registry', url, insecure: true },
  });
  if (res.status !== 201) throw new Error(`creating registry ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

/** A push-based policy body (this Berth → registry `destId`), enabled, manual; `extra` overrides fields. */
export function pushPolicy(name: string, destId: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    description: `${name} policy`,
    src_registry: null,
    dest_registry: { id: destId },
    dest_namespace: 'mirror',
    dest_namespace_replace_count: 1,
    trigger: { type: 'manual', trigger_settings: { cron: '' } },
    filters: [
      { type: 'name', value: 'library/**' },
      { type: 'tag', value: 'v*', decoration: 'matches' },
    ],
    replicate_deletion: false,
    override: true,
    enabled: true,
    speed: 0,
    copy_by_chunk: false,
    ...extra,
  };
}

/** Creates a policy and returns its id (throws on anything but 201). */
export async function createPolicy(server: TestServer, body: Record<string, unknown>): Promise<number> {
  const res = await api(server, 'POST', '/replication/policies', { auth: server.admin.authorization, body });
  if (res.status !== 201) throw new Error(`creating policy: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.headers.get('location')!.split('/').pop());
}
