import type { Db } from '../db/index.js';
import type { Project } from '../db/types.js';

export class ProjectStore {
  constructor(private readonly db: Db) {}

  findByName(name: string): Promise<Project | undefined> {
    return this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async insert(name: string, isPublic: boolean, now: string): Promise<Project> {
    return this.db
      .insertInto('projects')
      .values({ name, public: isPublic ? 1 : 0, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
