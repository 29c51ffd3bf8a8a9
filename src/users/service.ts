import { checkPassword, generateSecret, hashSecret, verifyDecoy, verifySecret } from '../auth/password.js';
import type { User } from '../db/types.js';
import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import type { UserStore } from './store.js';
import { isUniqueViolation } from '../db/errors.js';

export const adminUsername = 'admin';

/** The user as Harbor's API shows it (UserResp). */
export interface UserView {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin_flag: boolean;
  admin_role_in_auth: boolean;
  creation_time: string;
  update_time: string;
}

export function userView(u: User): UserView {
  return {
    user_id: Number(u.id),
    username: u.username,
    email: u.email,
    realname: u.realname,
    comment: u.comment,
    sysadmin_flag: u.sysadmin === 1,
    admin_role_in_auth: false,
    creation_time: u.creation_time,
    update_time: u.update_time,
  };
}

export interface UserInput {
  username?: unknown;
  email?: unknown;
  realname?: unknown;
  comment?: unknown;
  password?: unknown;
}

function audit(actor: string, operation: 'create' | 'update' | 'delete', username: string): AuditEntry {
  return { username: actor, operation, resourceType: 'user', resource: username };
}

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function optionalString(name: string, value: unknown, max: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw apiError('BAD_REQUEST', `${name} must be a string`);
  if (value.length > max) throw apiError('BAD_REQUEST', `${name} must be at most ${max} characters`);
  return value;
}

function checkUsername(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw apiError('BAD_REQUEST', 'username is required');
  if (value.length > 255) throw apiError('BAD_REQUEST', 'username must be at most 255 characters');
  if (/[,"~#%$\s:]/.test(value)) throw apiError('BAD_REQUEST', 'username must not contain spaces or any of , " ~ # % $ :');
  return value;
}

function checkEmail(value: unknown): string {
  const email = optionalString('email', value, 255);
  if (email !== '' && !emailPattern.test(email)) throw apiError('BAD_REQUEST', `email "${email}" is not a valid address`);
  return email;
}

export interface UserServiceOptions {
  /**
   * Ends a user's portal sessions but the one given: after a password change or reset, a
   * deletion, or the loss of system administration (the auth layer's session store, wired in app.ts).
   */
  endSessions?: (userId: number, keep?: string) => Promise<void>;
}

/** Which portal session made a change, so that it may stay when the other ones of the user end. */
export interface ChangeContext {
  keepSession?: string | null;
}

export class UserService {
  constructor(
    private readonly store: UserStore,
    private readonly options: UserServiceOptions = {},
  ) {}

  private async endSessions(userId: number, context: ChangeContext): Promise<void> {
    await this.options.endSessions?.(userId, context.keepSession ?? undefined);
  }

  byId(id: number): Promise<User | undefined> {
    return this.store.byId(id);
  }

  async get(id: number): Promise<User> {
    const user = await this.store.byId(id);
    if (!user) throw apiError('NOT_FOUND', `user ${id} does not exist`);
    return user;
  }

  byUsername(username: string): Promise<User | undefined> {
    return this.store.byUsername(username);
  }

  /** `actor` is who asks (recorded in the audit log in the same transaction). */
  async create(input: UserInput, actor: string, options: { sysadmin?: boolean } = {}): Promise<User> {
    const username = checkUsername(input.username);
    const email = checkEmail(input.email);
    const realname = optionalString('realname', input.realname, 255);
    const comment = optionalString('comment', input.comment, 1024);
    const password = checkPassword(input.password);
    if (await this.store.byUsername(username)) throw apiError('CONFLICT', `username ${username} is already taken`);
    if (email !== '' && (await this.store.byEmail(email))) throw apiError('CONFLICT', `email ${email} is already used by another user`);
    try {
      return await this.store.insert(
        {
          username,
          email,
          realname,
          comment,
          password_hash: await hashSecret(password),
          sysadmin: options.sysadmin ?? false,
          now: nowIso(),
        },
        audit(actor, 'create', username),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw apiError('CONFLICT', `username ${username} is already taken`);
      throw err;
    }
  }

  async updateProfile(id: number, input: UserInput, actor: string): Promise<void> {
    const user = await this.get(id);
    const changes: { email?: string; realname?: string; comment?: string } = {};
    if (input.email !== undefined) {
      changes.email = checkEmail(input.email);
      const other = changes.email === '' ? undefined : await this.store.byEmail(changes.email);
      if (other && Number(other.id) !== Number(user.id))
        throw apiError('CONFLICT', `email ${changes.email} is already used by another user`);
    }
    if (input.realname !== undefined) changes.realname = optionalString('realname', input.realname, 255);
    if (input.comment !== undefined) changes.comment = optionalString('comment', input.comment, 1024);
    await this.store.update(id, changes, nowIso(), audit(actor, 'update', user.username));
  }

  /** Changes a password; `oldPassword` is required unless an admin resets someone else's. */
  async changePassword(
    id: number,
    newPassword: unknown,
    oldPassword: unknown,
    requireOld: boolean,
    actor: string,
    context: ChangeContext = {},
  ): Promise<void> {
    const user = await this.get(id);
    const password = checkPassword(newPassword);
    if (requireOld) {
      if (typeof oldPassword !== 'string' || !(await verifySecret(user.password_hash, oldPassword))) {
        throw apiError('FORBIDDEN', 'the old password is not correct');
      }
    }
    if (await verifySecret(user.password_hash, password)) {
      throw apiError('BAD_REQUEST', 'the new password must differ from the old one');
    }
    // Recorded as `<username>:password`, so that the log tells a password change from a profile update.
    await this.store.update(
      id,
      { password_hash: await hashSecret(password) },
      nowIso(),
      audit(actor, 'update', `${user.username}:password`),
    );
    await this.endSessions(id, context);
  }

  async setSysadmin(id: number, flag: unknown, actor: string, context: ChangeContext = {}): Promise<void> {
    if (typeof flag !== 'boolean') throw apiError('BAD_REQUEST', 'sysadmin_flag must be true or false');
    const user = await this.get(id);
    await this.store.update(id, { sysadmin: flag ? 1 : 0 }, nowIso(), audit(actor, 'update', user.username));
    if (user.sysadmin === 1 && !flag) await this.endSessions(id, context);
  }

  async delete(id: number, actor: string): Promise<User> {
    const user = await this.get(id);
    await this.store.delete(id, audit(actor, 'delete', user.username));
    // The sessions also go with the user row (foreign key); ended here too so the rule reads in one place.
    await this.endSessions(id, {});
    return user;
  }

  list(terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    return this.store.list(terms, sort, paging);
  }

  search(fragment: string, paging: Paging) {
    return this.store.search(fragment, paging);
  }

  /**
   * The user an LDAP or OIDC sign-in names, created on first sign-in (onboarding) without a
   * password of its own; an existing user of that name is returned as it is. `actor` is
   * recorded in the audit log when the user is created.
   */
  async onboardExternal(input: { username: string; email?: string; realname?: string; comment?: string }, actor?: string): Promise<User> {
    const username = checkUsername(input.username);
    const existing = await this.store.byUsername(username);
    if (existing) return existing;
    try {
      return await this.store.insert(
        {
          username,
          email: input.email ?? '',
          realname: input.realname ?? '',
          comment: input.comment ?? '',
          // No local password: never verifies (see password.ts).
          password_hash: '',
          sysadmin: false,
          now: nowIso(),
        },
        audit(actor ?? username, 'create', username),
      );
    } catch (err) {
      // Two instances onboarding the same user at once: the other one won.
      const user = await this.store.byUsername(username);
      if (user) return user;
      throw err;
    }
  }

  /** Records whether the user was in the LDAP/OIDC admin group at this sign-in (grants system administration). */
  async setGroupAdmin(id: number, admin: boolean): Promise<void> {
    await this.store.setGroupAdmin(id, admin);
  }

  /** Checks a username and password; null when either is wrong (same cost either way). */
  async verifyPassword(username: string, password: string): Promise<User | null> {
    const user = await this.store.byUsername(username);
    if (!user) return verifyDecoy(password).then(() => null);
    return (await verifySecret(user.password_hash, password)) ? user : null;
  }

  /**
   * Creates `admin` on first start. Returns the generated password when none was
   * configured, so that the caller prints it once.
   */
  async ensureAdmin(configuredPassword: string | undefined): Promise<string | null> {
    if (await this.store.byUsername(adminUsername)) return null;
    const password = configuredPassword ?? generateSecret();
    if (configuredPassword !== undefined) checkPassword(configuredPassword);
    try {
      await this.store.insert({
        username: adminUsername,
        email: '',
        realname: 'system admin',
        comment: 'created on first start',
        password_hash: await hashSecret(password),
        sysadmin: true,
        now: nowIso(),
      });
    } catch (err) {
      // Instances starting together on an empty database: the one that won printed its password.
      if (await this.store.byUsername(adminUsername)) return null;
      throw err;
    }
    return configuredPassword === undefined ? password : null;
  }
}
