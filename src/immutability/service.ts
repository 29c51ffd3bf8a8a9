import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import { immutableTagRefusal } from './errors.js';
import { matcherOf, maxRulesPerProject, parseRuleInput, type ImmutableRule, type TagMatcher } from './rules.js';
import type { Executor, ImmutabilityStore } from './store.js';

export type { ImmutableRule, TagMatcher } from './rules.js';

/**
 * What the data path asks before it moves or removes tags, inside its own transaction (so a
 * rule saved meanwhile is either seen or saved after the change, and a refusal rolls all of
 * it back). Implemented by ImmutabilityService; RegistryStore, ArtifactStore and
 * RepositoryStore hold it.
 */
export interface TagProtection {
  /** Which of `tags` of the repository an enabled rule protects. */
  protectedTags(ex: Executor, repositoryId: number, tags: string[]): Promise<{ repository: string; tags: Set<string> }>;
  /** Throws the 412 refusal when an enabled rule protects one of `tags` (nothing is written by this call). */
  refuseRemoval(ex: Executor, repositoryId: number, tags: string[]): Promise<void>;
}

/** Tag immutability rules of projects (Harbor's /projects/{p}/immutabletagrules) and the test every tag change passes. */
export class ImmutabilityService implements TagProtection {
  constructor(
    private readonly store: ImmutabilityStore,
    private readonly options: { postgres: boolean },
  ) {}

  async list(projectId: number, paging: Paging): Promise<{ items: ImmutableRule[]; total: number }> {
    const rules = await this.store.rules(this.store.db, projectId);
    return { items: rules.slice(paging.offset, paging.offset + paging.pageSize), total: rules.length };
  }

  async create(project: { id: number; name: string }, body: unknown, actor: string): Promise<number> {
    const input = parseRuleInput(body);
    const id = await this.store.insert(
      project.id,
      input,
      nowIso(),
      maxRulesPerProject,
      this.audit(project, actor, 'create'),
      this.options.postgres,
    );
    if (id === 'full')
      throw apiError('BAD_REQUEST', `project ${project.name} already has ${maxRulesPerProject} immutability rules, the most it may have`);
    return id;
  }

  async update(project: { id: number; name: string }, ruleId: number, body: unknown, actor: string): Promise<void> {
    const input = parseRuleInput(body);
    if (input.id !== undefined && input.id !== ruleId) {
      throw apiError('BAD_REQUEST', `id ${input.id} in the body does not match immutable_rule_id ${ruleId} in the path`);
    }
    const audit = { ...this.audit(project, actor, 'update'), resource: `${project.name}/immutabletagrules/${ruleId}` };
    if (!(await this.store.update(project.id, ruleId, input, nowIso(), audit))) throw this.notFound(project, ruleId);
  }

  async delete(project: { id: number; name: string }, ruleId: number, actor: string): Promise<void> {
    const audit = { ...this.audit(project, actor, 'delete'), resource: `${project.name}/immutabletagrules/${ruleId}` };
    if (!(await this.store.delete(project.id, ruleId, audit))) throw this.notFound(project, ruleId);
  }

  /** One test for a whole project (retention asks it for many tags at once). */
  async matcherFor(projectId: number): Promise<TagMatcher> {
    return matcherOf(await this.store.rules(this.store.db, projectId));
  }

  /** Whether an enabled rule of the project protects the tag; `repositoryName` is the full name (`project/…`). */
  async isImmutable(projectId: number, repositoryName: string, tag: string): Promise<boolean> {
    return (await this.matcherFor(projectId))(repositoryName, tag);
  }

  /** The subset of `tags` that enabled rules of the project protect. */
  async immutableTagsOf(projectId: number, repositoryName: string, tags: string[]): Promise<Set<string>> {
    const matches = await this.matcherFor(projectId);
    return new Set(tags.filter((t) => matches(repositoryName, t)));
  }

  async protectedTags(ex: Executor, repositoryId: number, tags: string[]): Promise<{ repository: string; tags: Set<string> }> {
    if (tags.length === 0) return { repository: '', tags: new Set() };
    const { repository, rules } = await this.store.rulesOfRepository(ex, repositoryId);
    if (rules.length === 0) return { repository, tags: new Set() };
    const matches = matcherOf(rules);
    return { repository, tags: new Set(tags.filter((t) => matches(repository, t))) };
  }

  async refuseRemoval(ex: Executor, repositoryId: number, tags: string[]): Promise<void> {
    const found = await this.protectedTags(ex, repositoryId, tags);
    const first = [...found.tags].sort()[0];
    if (first !== undefined) throw immutableTagRefusal(found.repository, first, 'deleted');
  }

  private audit(project: { id: number; name: string }, actor: string, operation: AuditEntry['operation']): AuditEntry {
    return {
      username: actor,
      operation,
      resourceType: 'immutable_rule',
      resource: `${project.name}/immutabletagrules`,
      projectId: project.id,
    };
  }

  private notFound(project: { name: string }, ruleId: number) {
    return apiError('NOT_FOUND', `immutable tag rule ${ruleId} is not in project ${project.name}`);
  }
}
