import { nowIso } from '../lib/clock.js';
import type { Project } from '../db/types.js';
import type { ProjectStore } from './store.js';

export const defaultProjectName = 'library';

export class ProjectService {
  constructor(private readonly store: ProjectStore) {}

  findByName(name: string): Promise<Project | undefined> {
    return this.store.findByName(name);
  }

  /** Creates the public project `library` on first start, as Harbor does. */
  async ensureDefaultProject(): Promise<void> {
    if (!(await this.store.findByName(defaultProjectName))) {
      await this.store.insert(defaultProjectName, true, nowIso());
    }
  }

  async create(name: string, isPublic: boolean): Promise<Project> {
    return this.store.insert(name, isPublic, nowIso());
  }
}
