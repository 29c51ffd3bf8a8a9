import { nowIso } from '../../lib/clock.js';
import { apiError } from '../../lib/errors.js';
import { isExpired, parseAllowlist, type AllowlistInput, type EffectiveAllowlist } from './allowlist-rules.js';
import type { AllowlistRow, AllowlistStore, Executor } from './allowlist-store.js';

/** Harbor's CVEAllowlist as the API shows it. */
export interface CveAllowlistView {
  id: number;
  project_id: number;
  /** Absent when the list never expires, as in Harbor. */
  expires_at?: number;
  items: Array<{ cve_id: string }>;
  creation_time: string;
  update_time: string;
}

/** The system's list lives under this project id, as in Harbor. */
export const systemScope = 0;

function view(row: AllowlistRow): CveAllowlistView {
  return {
    id: row.id,
    project_id: row.projectId,
    ...(row.expiresAt !== null && { expires_at: row.expiresAt }),
    items: row.items.map((cve_id) => ({ cve_id })),
    creation_time: row.creationTime,
    update_time: row.updateTime,
  };
}

/** A list never written: empty, with the owner's times (the epoch for the system's). */
function emptyView(projectId: number, created: string, updated: string): CveAllowlistView {
  return { id: 0, project_id: projectId, items: [], creation_time: created, update_time: updated };
}

const epoch = new Date(0).toISOString();

/**
 * CVE allowlists: the system's (/system/CVEAllowlist) and each project's (the `cve_allowlist`
 * of Harbor's Project and ProjectReq). A project uses the system's list unless its metadata
 * `reuse_sys_cve_allowlist` is "false" (absent means reuse, as in Harbor). An expired list
 * allows nothing.
 */
export class AllowlistService {
  /** Called after a list changes (the pull gate drops what it cached). */
  private readonly listeners: Array<(projectId: number) => void> = [];

  constructor(private readonly store: AllowlistStore) {}

  onChange(listener: (projectId: number) => void): void {
    this.listeners.push(listener);
  }

  private changed(projectId: number): void {
    for (const listener of this.listeners) listener(projectId);
  }

  async system(): Promise<CveAllowlistView> {
    const row = await this.store.get(systemScope);
    return row ? view(row) : emptyView(systemScope, epoch, epoch);
  }

  /** PUT /system/CVEAllowlist: replaces the whole list. `project_id`, when given, must be 0. */
  async setSystem(body: unknown): Promise<void> {
    const input = parseAllowlist(body, 'the system CVE allowlist');
    const projectId = (body as Record<string, unknown>).project_id;
    if (projectId !== undefined && projectId !== null && projectId !== 0) {
      throw apiError('BAD_REQUEST', `project_id of the system CVE allowlist must be 0, not ${JSON.stringify(projectId)}`);
    }
    await this.store.set(systemScope, input.items, input.expiresAt, nowIso());
    this.changed(systemScope);
  }

  /**
   * A ProjectReq's `cve_allowlist`, checked for the project being updated (null: being
   * created). Its `project_id` may be absent or 0 (meaning this project), as in Harbor.
   */
  parseForProject(body: unknown, projectId: number | null): AllowlistInput {
    const input = parseAllowlist(body, 'cve_allowlist');
    const given = (body as Record<string, unknown>).project_id;
    if (given !== undefined && given !== null && given !== 0 && given !== projectId) {
      throw apiError(
        'BAD_REQUEST',
        projectId === null
          ? `project_id in cve_allowlist must be absent or 0 when creating a project, not ${JSON.stringify(given)}`
          : `project_id in cve_allowlist must be ${projectId} but it's ${JSON.stringify(given)}`,
      );
    }
    return input;
  }

  async writeForProject(projectId: number, input: AllowlistInput, executor?: Executor): Promise<void> {
    await this.store.set(projectId, input.items, input.expiresAt, nowIso(), executor);
  }

  /** Tells listeners after the transaction that wrote the list committed. */
  notifyChanged(projectId: number): void {
    this.changed(projectId);
  }

  async removeForProject(projectId: number, executor?: Executor): Promise<void> {
    await this.store.delete(projectId, executor);
  }

  /** Each project's own list (not the effective one), as Project.cve_allowlist shows it. */
  async views(projects: Array<{ id: number; created: string; updated: string }>): Promise<Map<number, CveAllowlistView>> {
    const rows = await this.store.many(projects.map((p) => p.id));
    const out = new Map<number, CveAllowlistView>();
    for (const p of projects) {
      const row = rows.get(p.id);
      out.set(p.id, row ? view(row) : emptyView(p.id, p.created, p.updated));
    }
    return out;
  }

  /** The list a pull of the project is judged by. */
  async effective(projectId: number, metadata: Record<string, string>): Promise<EffectiveAllowlist> {
    const reuse = metadata.reuse_sys_cve_allowlist !== 'false';
    const row = await this.store.get(reuse ? systemScope : projectId);
    if (!row) return { ids: new Set(), expired: false };
    return { ids: new Set(row.items), expired: isExpired(row.expiresAt) };
  }
}
