import type { Logger } from 'pino';
import type { UserIdentity } from '../auth/principals.js';
import { apiError, isAppError, ociError } from '../lib/errors.js';
import type { SettingsReader } from '../settings/settings.js';
import type { SystemSettings } from '../settings/keys.js';
import { groupTypes, type UserGroups } from '../usergroups/compose.js';
import { adminUsername, type UserService } from '../users/service.js';
import { DirectoryError, describeFailure, DirectorySession, withSession } from './client.js';
import { Directory, type DirectoryGroup, type DirectoryUser } from './directory.js';
import { parseDn } from './dn.js';

export interface LdapServiceDeps {
  settings: SettingsReader;
  users: UserService;
  groups: Pick<UserGroups, 'setUserGroups'>;
  logger: Logger;
}

/** Harbor's LdapConf: what /ldap/ping may try instead of the stored settings. */
export type PingSettings = Partial<
  Pick<
    SystemSettings,
    | 'ldap_url'
    | 'ldap_search_dn'
    | 'ldap_search_password'
    | 'ldap_base_dn'
    | 'ldap_filter'
    | 'ldap_uid'
    | 'ldap_scope'
    | 'ldap_timeout'
    | 'ldap_verify_cert'
    | 'ldap_start_tls'
    | 'ldap_ca_cert'
  >
>;

export interface FailedImport {
  uid: string;
  error: string;
}

/** Harbor marks users it imported from LDAP so in their comment. */
const importedComment = 'from LDAP.';

/**
 * A directory that cannot answer: 503 with what went wrong, on the registry and the API alike,
 * so that a sign-in during an outage reads as an outage, not as a wrong password.
 */
function unavailable(err: DirectoryError) {
  return ociError('UNAVAILABLE', `LDAP sign-in is unavailable: ${err.message}`);
}

/** Runs directory work, turning a DirectoryError into 503. */
async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DirectoryError) throw unavailable(err);
    throw err;
  }
}

/** LDAP sign-in, onboarding, groups and the /ldap/… operations; settings read at each use. */
export class LdapService {
  constructor(private readonly deps: LdapServiceDeps) {}

  private directory(): Directory {
    return new Directory(this.deps.settings.current());
  }

  /**
   * ldap_auth sign-in: the directory must know exactly one such user and accept the password.
   * Then the user is onboarded (once), their email taken from the directory when it changed
   * there (as Harbor does; name and comment stay Berth's), their groups and admin-group standing recorded.
   */
  async verifyPassword(username: string, password: string): Promise<UserIdentity | null> {
    if (password === '') return null;
    const signedIn = await answering(() => this.directory().signIn(username, password));
    if (!signedIn) return null;
    if (signedIn.user.username === adminUsername) {
      // "Admin" typed reaches the directory; its "admin" must not become Berth's local administrator.
      this.deps.logger.warn({ username }, 'LDAP sign-in refused: the directory user is named admin, which is the local administrator');
      return null;
    }
    const user = await this.onboard(signedIn.user).catch((err: unknown) => {
      // The directory accepted the password, but its name for the user cannot be a Berth username.
      if (isAppError(err) && err.status === 400) {
        throw apiError(
          'FORBIDDEN',
          `the directory signed in "${signedIn.user.username}", which cannot be a Berth username (${err.message}); choose an ldap_uid attribute without such characters, such as uid or sAMAccountName`,
        );
      }
      throw err;
    });
    if (signedIn.user.email !== '' && signedIn.user.email !== user.email) {
      // An address another user has is not taken: the old one stays, and the sign-in goes on.
      await this.deps.users
        .updateProfile(Number(user.id), { email: signedIn.user.email }, user.username)
        .catch((err: unknown) =>
          this.deps.logger.warn({ err, username: user.username }, "LDAP sign-in: the directory's email for this user was not taken"),
        );
    }
    await this.deps.groups.setUserGroups(
      Number(user.id),
      groupTypes.ldap,
      signedIn.groups.map((g) => ({ name: g.name, ldapDn: g.dn })),
    );
    await this.deps.users.setGroupAdmin(Number(user.id), signedIn.admin);
    return {
      kind: 'user',
      userId: Number(user.id),
      username: user.username,
      sysadmin: user.sysadmin === 1 || signedIn.admin,
      via: 'basic',
    };
  }

  private onboard(user: DirectoryUser, actor?: string) {
    return this.deps.users.onboardExternal(
      { username: user.username, email: user.email, realname: user.realname, comment: importedComment },
      actor,
    );
  }

  /** The LDAP group with this DN (under the group base DN, matching the group filter), or null; 400 for a text that is not a DN. */
  async groupByDn(dn: string): Promise<DirectoryGroup | null> {
    if (typeof dn !== 'string' || dn.trim() === '' || parseDn(dn) === null)
      throw apiError('BAD_REQUEST', `"${String(dn)}" is not a valid LDAP DN`);
    const directory = this.directory();
    return answering(() => withSession(this.deps.settings.current(), (session) => directory.groupByDn(session, dn)));
  }

  /** Groups by name attribute or by DN (Harbor's /ldap/groups/search). */
  async searchGroups(query: { name?: string; dn?: string }): Promise<DirectoryGroup[]> {
    if (query.name) {
      const directory = this.directory();
      return answering(() => withSession(this.deps.settings.current(), (session) => directory.groupsByName(session, query.name!)));
    }
    if (query.dn) {
      const group = await this.groupByDn(query.dn);
      return group ? [group] : [];
    }
    return [];
  }

  /** Users whose ldap_uid equals `username`, every user when it is empty (Harbor's /ldap/users/search). */
  async searchUsers(username: string): Promise<DirectoryUser[]> {
    const directory = this.directory();
    return answering(() => withSession(this.deps.settings.current(), (session) => directory.findUsers(session, username)));
  }

  /** Onboards each uid the directory knows; answers the ones that failed, with Harbor's reasons. */
  async importUsers(uids: string[], actor: string): Promise<FailedImport[]> {
    const directory = this.directory();
    return answering(() =>
      withSession(this.deps.settings.current(), async (session) => {
        const failed: FailedImport[] = [];
        for (const uid of uids) {
          if (uid.trim() === '') {
            failed.push({ uid, error: 'empty_uid' });
            continue;
          }
          let found: DirectoryUser[];
          try {
            found = await directory.findUsers(session, uid, 2);
          } catch (err) {
            this.deps.logger.warn({ err, uid }, 'LDAP import: the user search failed');
            failed.push({ uid, error: 'failed_search_user' });
            continue;
          }
          if (found.length === 0) {
            failed.push({ uid, error: 'unknown_user' });
            continue;
          }
          try {
            await this.onboard(found[0]!, actor);
          } catch (err) {
            this.deps.logger.warn({ err, uid }, 'LDAP import: onboarding failed');
            failed.push({ uid, error: `failed to import user: ${uid}` });
          }
        }
        return failed;
      }),
    );
  }

  /**
   * Tries the settings, the stored ones with `overrides` over them: connect (StartTLS), bind as
   * the search DN, find the base DN. Never throws for the directory's answers: they are the result.
   */
  async ping(overrides: PingSettings | null): Promise<{ success: boolean; message: string }> {
    const stored = this.deps.settings.current();
    const settings: SystemSettings = { ...stored, ...(overrides ?? {}) };
    // A form that does not repeat the password means the stored one (Harbor's rule).
    if (!overrides?.ldap_search_password) settings.ldap_search_password = stored.ldap_search_password;
    try {
      await withSession(settings, async (session: DirectorySession) => {
        const base = settings.ldap_base_dn.trim();
        if (base === '') return;
        const found = await session.search(base, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
        if (found.length === 0) throw new DirectoryError(`the base DN "${base}" does not exist in the directory`);
      });
      return { success: true, message: `connected to ${settings.ldap_url} and bound as ${settings.ldap_search_dn.trim() || 'anonymous'}` };
    } catch (err) {
      if (err instanceof DirectoryError) return { success: false, message: err.message };
      this.deps.logger.warn({ err }, 'LDAP ping failed');
      return { success: false, message: describeFailure(err) };
    }
  }
}
