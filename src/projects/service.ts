import type { ProjectRef } from '../auth/guard.js';
import { roles, strongestRole, type RoleId } from '../auth/rbac.js';
import type { Transaction } from 'kysely';
import type { Database, Project } from '../db/types.js';
import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import { checkMetadataKey, checkProxyFilter, normalizeMetadata, parseProjectRequest, parseRegistryId, shown } from './rules.js';
import type { ProjectFilter, ProjectRow, ProjectStore } from './store.js';

export const defaultProjectName = 'library';

/** Who asks for a change, as plain values. */
export interface Actor {
  /** Recorded in the audit log. */
  username: string;
  /** The local user who will own a new project; null for robots. */
  userId: number | null;
  sysadmin: boolean;
}

/** The Project definition of Harbor's API. */
export interface ProjectView {
  project_id: number;
  owner_id: number;
  owner_name?: string;
  name: string;
  /** Only for proxy cache projects: the registry endpoint it mirrors. */
  registry_id?: number;
  creation_time: string;
  update_time: string;
  deleted: boolean;
  togglable: boolean;
  current_user_role_id: number;
  current_user_role_ids: number[];
  repo_count: number;
  metadata?: Record<string, string>;
  cve_allowlist?: { id: number; project_id: number; expires_at?: number; items: unknown[]; creation_time: string; update_time: string };
}

/**
 * The seam through which CVE allowlists (scanning policies) check, write and show the
 * `cve_allowlist` of a project. Without it a project's list is always empty.
 */
export interface ProjectAllowlists {
  /** Checks the body's `cve_allowlist` for the project (null: being created); throws 400. */
  parseForProject(body: unknown, projectId: number | null): unknown;
  writeForProject(projectId: number, parsed: any, tx: Transaction<Database>): Promise<void>;
  removeForProject(projectId: number, tx: Transaction<Database>): Promise<void>;
  notifyChanged(projectId: number): void;
  views(projects: Array<{ id: number; created: string; updated: string }>): Promise<Map<number, NonNullable<ProjectView['cve_allowlist']>>>;
}

/**
 * The seam through which the proxy cache (src/proxycache) checks a new proxy cache project's
 * registry_id: the endpoint must exist and be of a type that can be proxied. Without it a
 * ProjectReq with registry_id is refused.
 */
export interface ProjectProxyCache {
  /** Throws a 400 saying why the registry cannot back a proxy cache project. */
  checkRegistry(registryId: number): Promise<void>;
  /** After a proxy cache project is created (Harbor gives it a retention policy). */
  created(project: { id: number; name: string }, actor: string): Promise<void>;
  /** Harbor's Registry object of the endpoint, for the project summary (null when gone). */
  registryView(registryId: number): Promise<unknown>;
}

/** What the caller is, for the per-caller fields of a project. */
export interface Viewer {
  sysadmin: boolean;
  /** The caller's roles per project id. */
  roles: Map<number, RoleId[]>;
}

/** current_user_role_id: the strongest of the caller's roles in Harbor's ranking (a maintainer outranks a developer), 0 for none. */
export function highestRole(ids: RoleId[]): number {
  return strongestRole(ids) ?? 0;
}

/** Whether the project is a proxy cache project (created with a registry_id). */
export function isProxy(p: Pick<Project, 'registry_id'>): boolean {
  return p.registry_id !== null && p.registry_id !== undefined;
}

export function toRef(p: Project): ProjectRef {
  return { id: Number(p.id), name: p.name, public: p.public === 1 };
}

/** Metadata as Harbor shows it: `public` (a column here) and every stored key. */
function fullMetadata(p: Project, stored: Record<string, string>): Record<string, string> {
  return { public: p.public === 1 ? 'true' : 'false', ...stored };
}

function audit(actor: Actor, operation: 'create' | 'update' | 'delete', project: string, projectId?: number): AuditEntry {
  return { username: actor.username, operation, resourceType: 'project', resource: project, projectId };
}

function metadataAudit(actor: Actor, operation: 'create' | 'update' | 'delete', project: Project, key: string): AuditEntry {
  return {
    username: actor.username,
    operation,
    resourceType: 'project_metadata',
    resource: `${project.name}:${key}`,
    projectId: Number(project.id),
  };
}

function onePair(body: Record<string, unknown>): [string, unknown] {
  const entries = Object.entries(body);
  if (entries.length !== 1) throw apiError('BAD_REQUEST', 'send exactly one key/value pair, such as {"auto_scan": "true"}');
  return entries[0];
}

/** What the projects feature needs from the repositories feature. */
export interface ProjectRepositories {
  /** Repositories (pushed to at least once, empty ones too) per project; every id given is in the map. */
  countsByProject(projectIds: number[]): Promise<Map<number, number>>;
}

/** What the projects feature needs from the quotas feature: a summary's `quota`. */
export interface ProjectQuotas {
  summary(projectId: number): Promise<{ hard: { storage: number }; used: { storage: number } }>;
}

export class ProjectService {
  /** Set by scanning policies (src/scanning/policy/compose.ts). */
  allowlists: ProjectAllowlists | undefined;
  /** Set by the proxy cache (src/proxycache/compose.ts). */
  proxyCache: ProjectProxyCache | undefined;
  /** Told after a project's metadata or existence changed (caches keyed by project drop their entry). */
  private readonly changeListeners: Array<(projectId: number) => void> = [];

  onChanged(listener: (projectId: number) => void): void {
    this.changeListeners.push(listener);
  }

  private changed(projectId: number): void {
    for (const listener of this.changeListeners) listener(projectId);
  }

  /** The body's cve_allowlist checked, or undefined when it has none. */
  private parseAllowlist(raw: unknown, projectId: number | null): unknown {
    if (raw === undefined) return undefined;
    if (this.allowlists) return this.allowlists.parseForProject(raw, projectId);
    const items = (raw as { items?: unknown } | null)?.items;
    if (typeof raw !== 'object' || Array.isArray(raw)) throw apiError('BAD_REQUEST', 'cve_allowlist must be an object');
    if (items !== undefined && items !== null && (!Array.isArray(items) || items.length > 0)) {
      throw apiError('BAD_REQUEST', 'project CVE allowlists need the scanning feature, which is not enabled');
    }
    return undefined;
  }

  constructor(
    private readonly store: ProjectStore,
    private readonly repositories: ProjectRepositories,
    private readonly quotas: ProjectQuotas,
    /** `storageLimit`: the storage_per_project setting (read per creation), the limit of a project created without one. */
    private readonly defaults: { storageLimit: () => number } = { storageLimit: () => -1 },
  ) {}

  findByName(name: string): Promise<Project | undefined> {
    return this.store.findByName(name);
  }

  /** A project's id, name and visibility (what access checks need), by name. */
  async refByName(name: string): Promise<ProjectRef | null> {
    return (await this.store.refByName(name)) ?? null;
  }

  byId(id: number): Promise<Project | undefined> {
    return this.store.byId(id);
  }

  /**
   * Creates the public project `library` on first start, owned by `ownerId` (admin), who is
   * its Project Admin, as in Harbor. A `library` left without an owner by an older Berth gets
   * them too. Instances starting together on an empty database: one of them wins the insert.
   */
  async ensureDefaultProject(ownerId: number): Promise<void> {
    const existing = await this.store.findByName(defaultProjectName);
    if (!existing) await this.store.insertDefault(defaultProjectName, ownerId, roles.projectAdmin, nowIso());
    else if (existing.owner_id === null) await this.store.adoptOwnerless(Number(existing.id), ownerId, roles.projectAdmin, nowIso());
  }

  /** A bare project, without owner or audit record (for tests and seeding). */
  async create(name: string, isPublic: boolean): Promise<Project> {
    return this.store.insert(name, isPublic, nowIso());
  }

  /**
   * A `{project_name_or_id}` path parameter: an id when it is all digits, unless the client
   * says it is a name (X-Is-Resource-Name). 404 when there is no such project.
   */
  async resolve(nameOrId: string, isName: boolean): Promise<ProjectRow> {
    const byId = !isName && /^\d+$/.test(nameOrId);
    const found = byId ? await this.store.row(Number(nameOrId)) : await this.rowByName(nameOrId);
    if (!found) throw apiError('NOT_FOUND', `project ${shown(nameOrId)} does not exist`);
    return found;
  }

  private async rowByName(name: string): Promise<ProjectRow | undefined> {
    const project = await this.store.findByName(name);
    return project ? this.store.row(Number(project.id)) : undefined;
  }

  /** POST /projects: checks the ProjectReq, creates the project and makes its creator Project Admin. */
  async createFromRequest(body: Record<string, unknown>, actor: Actor): Promise<Project> {
    const req = parseProjectRequest(body, 'create');
    const name = req.name!;
    if (req.registryId !== undefined) {
      // Harbor's rule and message: a proxy cache is the system administrators' to create.
      if (!actor.sysadmin) throw apiError('FORBIDDEN', 'Only system admin can create proxy cache project');
      if (!this.proxyCache)
        throw apiError('BAD_REQUEST', 'proxy cache projects (registry_id) need the proxy cache feature, which is not enabled');
    }
    if (await this.store.findByName(name)) throw apiError('CONFLICT', `project ${name} already exists`);
    if (req.registryId !== undefined) await this.proxyCache!.checkRegistry(req.registryId);
    const { public: isPublic, ...metadata } = req.metadata;
    const allowlist = this.parseAllowlist(req.cveAllowlist, null);
    // As in Harbor, only a system administrator chooses the storage limit; others get the default.
    const storageLimit = actor.sysadmin && req.storageLimit !== undefined ? req.storageLimit : this.defaults.storageLimit();
    const project = await this.store.create(
      {
        name,
        public: isPublic === 'true',
        ownerId: actor.userId,
        ownerRole: actor.userId === null ? null : roles.projectAdmin,
        storageLimit,
        metadata,
        registryId: req.registryId ?? null,
        now: nowIso(),
      },
      audit(actor, 'create', name),
      allowlist === undefined ? undefined : (tx, id) => this.allowlists!.writeForProject(id, allowlist, tx),
    );
    if (!project) throw apiError('CONFLICT', `project ${name} already exists`);
    if (req.registryId !== undefined) await this.proxyCache!.created({ id: Number(project.id), name }, actor.username);
    return project;
  }

  /** PUT /projects/{p}: metadata given is added or replaced; the rest stays. */
  async update(project: Project, body: Record<string, unknown>, actor: Actor): Promise<void> {
    const proxy = project.registry_id !== null && project.registry_id !== undefined;
    const req = parseProjectRequest(body, 'update', proxy);
    if (req.name !== undefined && req.name !== project.name) {
      throw apiError('BAD_REQUEST', `a project cannot be renamed: project_name "${shown(req.name)}" is not "${project.name}"`);
    }
    const registryId = parseRegistryId(body.registry_id);
    if (registryId !== undefined && registryId !== (proxy ? Number(project.registry_id) : undefined)) {
      throw apiError(
        'BAD_REQUEST',
        proxy
          ? `the registry_id of proxy cache project ${project.name} is ${Number(project.registry_id)} and cannot be changed`
          : `project ${project.name} is not a proxy cache project; registry_id is given only when a project is created`,
      );
    }
    if (proxy) checkProxyFilter({ ...(await this.storedMetadata(Number(project.id))), ...req.metadata });
    const { public: isPublic, ...metadata } = req.metadata;
    const id = Number(project.id);
    const allowlist = this.parseAllowlist(req.cveAllowlist, id);
    const changes = { public: isPublic === undefined ? undefined : isPublic === 'true', metadata };
    await this.store.update(
      id,
      changes,
      nowIso(),
      audit(actor, 'update', project.name, id),
      allowlist === undefined ? undefined : (tx) => this.allowlists!.writeForProject(id, allowlist, tx),
    );
    this.changed(id);
    if (allowlist !== undefined) this.allowlists!.notifyChanged(id);
  }

  async deletable(project: Project): Promise<{ deletable: boolean; message?: string }> {
    const count = await this.repositoryCount(project);
    return count > 0 ? { deletable: false, message: 'the project contains repositories, can not be deleted' } : { deletable: true };
  }

  /** Deletes an empty project; 412 while it holds repositories. */
  async delete(project: Project, actor: Actor): Promise<void> {
    const allowlists = this.allowlists;
    const result = await this.store.delete(
      Number(project.id),
      audit(actor, 'delete', project.name, Number(project.id)),
      allowlists ? (tx) => allowlists.removeForProject(Number(project.id), tx) : undefined,
    );
    this.changed(Number(project.id));
    if (result === 'not-empty') {
      throw apiError('PRECONDITION', `project ${project.name} contains repositories and cannot be deleted; delete them first`);
    }
  }

  list(filter: ProjectFilter, terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    return this.store.list(filter, terms, sort, paging);
  }

  /** Every project the filter selects, by name, without paging (for /search). */
  matching(filter: ProjectFilter): Promise<ProjectRow[]> {
    return this.store.matching(filter);
  }

  /** Ids of every project the filter selects. */
  ids(filter: ProjectFilter): Promise<number[]> {
    return this.store.ids(filter);
  }

  /** The registry endpoint of a proxy cache project as Harbor's Registry object; null for other projects. */
  async proxyRegistry(project: Project): Promise<unknown> {
    if (!isProxy(project) || !this.proxyCache) return null;
    return this.proxyCache.registryView(Number(project.registry_id));
  }

  /** How many proxy cache projects mirror the registry endpoint. */
  countByRegistry(registryId: number): Promise<number> {
    return this.store.countByRegistry(registryId);
  }

  count(filter: ProjectFilter): Promise<number> {
    return this.store.count(filter);
  }

  async repositoryCount(project: Project): Promise<number> {
    return (await this.repositories.countsByProject([Number(project.id)])).get(Number(project.id)) ?? 0;
  }

  /** The project's quota (limit and usage) for its summary, from the quotas feature. */
  quota(project: Project) {
    return this.quotas.summary(Number(project.id));
  }

  /** Projects as Harbor's API shows them; `withDetail` adds metadata, allowlist and owner name. */
  async views(rows: ProjectRow[], viewer: Viewer, withDetail = true): Promise<ProjectView[]> {
    const ids = rows.map((r) => Number(r.id));
    const counts = await this.repositories.countsByProject(ids);
    const metadata = withDetail ? await this.store.metadataOf(ids) : undefined;
    const allowlists =
      withDetail && this.allowlists
        ? await this.allowlists.views(rows.map((r) => ({ id: Number(r.id), created: r.created_at, updated: r.updated_at })))
        : undefined;
    return rows.map((p) => {
      const id = Number(p.id);
      const roleIds = [...(viewer.roles.get(id) ?? [])].sort();
      const view: ProjectView = {
        project_id: id,
        owner_id: p.owner_id === null ? 0 : Number(p.owner_id),
        name: p.name,
        creation_time: p.created_at,
        update_time: p.updated_at,
        deleted: false,
        togglable: viewer.sysadmin || roleIds.includes(roles.projectAdmin),
        current_user_role_id: highestRole(roleIds),
        current_user_role_ids: roleIds,
        repo_count: counts.get(id) ?? 0,
      };
      // Harbor leaves registry_id out of an ordinary project.
      if (p.registry_id !== null && p.registry_id !== undefined) view.registry_id = Number(p.registry_id);
      if (metadata) {
        view.owner_name = p.owner_name ?? '';
        view.metadata = fullMetadata(p, metadata.get(id) ?? {});
        view.cve_allowlist = allowlists?.get(id) ?? {
          id: 0,
          project_id: id,
          items: [],
          creation_time: p.created_at,
          update_time: p.updated_at,
        };
      }
      return view;
    });
  }

  /** The metadata rows stored for a project (no `public`: that is a column). */
  async storedMetadata(projectId: number): Promise<Record<string, string>> {
    return (await this.store.metadataOf([projectId])).get(projectId) ?? {};
  }

  async metadata(project: Project): Promise<Record<string, string>> {
    const stored = (await this.store.metadataOf([Number(project.id)])).get(Number(project.id)) ?? {};
    return fullMetadata(project, stored);
  }

  async getMetadata(project: Project, key: string): Promise<Record<string, string>> {
    const all = await this.metadata(project);
    if (!Object.hasOwn(all, key)) throw apiError('NOT_FOUND', `metadata ${shown(key)} is not set on project ${project.name}`);
    return { [key]: all[key] };
  }

  /** POST /metadatas: one new key; 409 when the project already has it. */
  async addMetadata(project: Project, body: Record<string, unknown>, actor: Actor): Promise<void> {
    const [key, raw] = onePair(body);
    const value = normalizeMetadata(key, raw, isProxy(project));
    if (isProxy(project) && key.startsWith('proxy_cache_filter_'))
      checkProxyFilter({ ...(await this.storedMetadata(Number(project.id))), [key]: value });
    const conflict = () => apiError('CONFLICT', `metadata ${key} is already set on project ${project.name}; change it with PUT`);
    // `public` is a column: every project has it.
    if (key === 'public') throw conflict();
    if (!(await this.store.addMetadata(Number(project.id), key, value, nowIso(), metadataAudit(actor, 'create', project, key))))
      throw conflict();
    this.changed(Number(project.id));
  }

  /** PUT /metadatas/{key}: the body is {"key": "value"} for the key in the path. */
  async setMetadata(project: Project, key: string, body: Record<string, unknown>, actor: Actor): Promise<void> {
    checkMetadataKey(key, isProxy(project));
    const keys = Object.keys(body);
    if (keys.length !== 1 || keys[0] !== key) {
      throw apiError('BAD_REQUEST', `the body must hold only the metadata named in the path, such as {"${key}": "true"}`);
    }
    const value = normalizeMetadata(key, body[key], isProxy(project));
    if (isProxy(project) && key.startsWith('proxy_cache_filter_'))
      checkProxyFilter({ ...(await this.storedMetadata(Number(project.id))), [key]: value });
    const changes = key === 'public' ? { public: value === 'true', metadata: {} } : { metadata: { [key]: value } };
    await this.store.update(Number(project.id), changes, nowIso(), metadataAudit(actor, 'update', project, key));
    this.changed(Number(project.id));
  }

  /** DELETE /metadatas/{key}; removing `public` makes the project private, as a missing key does in Harbor. */
  async deleteMetadata(project: Project, key: string, actor: Actor): Promise<void> {
    checkMetadataKey(key, isProxy(project));
    const entry = metadataAudit(actor, 'delete', project, key);
    if (key === 'public') {
      await this.store.update(Number(project.id), { public: false, metadata: {} }, nowIso(), entry);
      this.changed(Number(project.id));
      return;
    }
    if (!(await this.store.deleteMetadata(Number(project.id), key, nowIso(), entry))) {
      throw apiError('NOT_FOUND', `metadata ${key} is not set on project ${project.name}`);
    }
    this.changed(Number(project.id));
  }
}
