import type { Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database, ImmutableRulesTable } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { ImmutableRule, RuleInput } from './rules.js';

export type Executor = Db | Transaction<Database>;

type RuleRow = Pick<ImmutableRulesTable, 'priority' | 'tag_selectors' | 'scope_selectors'> & { id: number; disabled: number };

export function ruleOf(row: RuleRow): ImmutableRule {
  return {
    id: Number(row.id),
    priority: Number(row.priority),
    disabled: Number(row.disabled) !== 0,
    action: 'immutable',
    template: 'immutable_template',
    params: {},
    tag_selectors: JSON.parse(row.tag_selectors),
    scope_selectors: JSON.parse(row.scope_selectors),
  };
}

const columns = ['id', 'priority', 'disabled', 'tag_selectors', 'scope_selectors'] as const;

/** SQL of the immutable_rules table. */
export class ImmutabilityStore {
  constructor(readonly db: Db) {}

  /** The project's rules in id order (few: at most 15). */
  async rules(ex: Executor, projectId: number): Promise<ImmutableRule[]> {
    const rows = await ex.selectFrom('immutable_rules').select(columns).where('project_id', '=', projectId).orderBy('id').execute();
    return rows.map(ruleOf);
  }

  /** The rules of the project that holds the repository, in the caller's transaction. */
  async rulesOfRepository(ex: Executor, repositoryId: number): Promise<{ repository: string; rules: ImmutableRule[] }> {
    const rows = await ex
      .selectFrom('repositories as r')
      .leftJoin('immutable_rules as i', 'i.project_id', 'r.project_id')
      .select(['r.name', 'i.id', 'i.priority', 'i.disabled', 'i.tag_selectors', 'i.scope_selectors'])
      .where('r.id', '=', repositoryId)
      .orderBy('i.id')
      .execute();
    const rules = rows.filter((r) => r.id !== null).map((r) => ruleOf(r as RuleRow));
    return { repository: rows[0]?.name ?? '', rules };
  }

  async rule(projectId: number, id: number): Promise<ImmutableRule | undefined> {
    const row = await this.db
      .selectFrom('immutable_rules')
      .select(columns)
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && ruleOf(row);
  }

  /**
   * Adds a rule unless the project already has `max`; the count is taken under a lock on the
   * project's row (PostgreSQL) so that concurrent creates cannot pass the limit together.
   */
  async insert(
    projectId: number,
    input: RuleInput,
    now: string,
    max: number,
    audit: AuditEntry,
    lockProject: boolean,
  ): Promise<number | 'full'> {
    return this.db.transaction().execute(async (tx) => {
      let project = tx.selectFrom('projects').select('id').where('id', '=', projectId);
      if (lockProject) project = project.forUpdate();
      await project.executeTakeFirst();
      const count = await tx
        .selectFrom('immutable_rules')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_id', '=', projectId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= max) return 'full';
      const row = await tx
        .insertInto('immutable_rules')
        .values({
          project_id: projectId,
          priority: input.priority,
          disabled: input.disabled ? 1 : 0,
          tag_selectors: JSON.stringify(input.tag_selectors),
          scope_selectors: JSON.stringify(input.scope_selectors),
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await writeAudit(tx, { ...audit, resource: `${audit.resource}/${Number(row.id)}` });
      return Number(row.id);
    });
  }

  async update(projectId: number, id: number, input: RuleInput, now: string, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx
        .updateTable('immutable_rules')
        .set({
          priority: input.priority,
          disabled: input.disabled ? 1 : 0,
          tag_selectors: JSON.stringify(input.tag_selectors),
          scope_selectors: JSON.stringify(input.scope_selectors),
          updated_at: now,
        })
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  async delete(projectId: number, id: number, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx.deleteFrom('immutable_rules').where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }
}
