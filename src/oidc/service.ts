import { timingSafeEqual, createHash } from 'node:crypto';
import type { Logger } from 'pino';
import * as oidc from 'openid-client';
import { generateSecret, checkPassword } from '../auth/password.js';
import { userIdentity, type UserIdentity } from '../auth/principals.js';
import type { SecretSealer } from '../auth/secret-box.js';
import type { Db } from '../db/index.js';
import type { User } from '../db/types.js';
import { writeAudit } from '../events/audit.js';
import { apiError } from '../lib/errors.js';
import type { SettingsReader } from '../settings/settings.js';
import type { SystemSettings } from '../settings/keys.js';
import type { UserGroups } from '../usergroups/compose.js';
import type { UserService } from '../users/service.js';
import { discoverProvider, ProviderClients, type ProviderConnection } from './client.js';
import type { OidcUserStore, OidcUserRow } from './store.js';

/** Harbor's group type of OIDC groups. */
const oidcGroupType = 3;
/** Harbor's comment on users onboarded through OIDC. */
export const onboardedComment = 'Onboarded via OIDC provider';

/** Who the provider says signed in, as Berth uses it. */
export interface ProviderIdentity {
  subject: string;
  issuer: string;
  /** From oidc_user_claim (else `name`), blanks made underscores; '' when the provider gave none. */
  username: string;
  realname: string;
  email: string;
  /** The groups claim after oidc_group_filter. */
  groups: string[];
  /** In oidc_admin_group (checked before the filter, as Harbor does). */
  admin: boolean;
}

/** The provider tokens Berth keeps (sealed): what refreshing and signing out need. */
export interface StoredToken {
  id_token?: string;
  refresh_token?: string;
  /** Unix ms when the access token expires; 0 when the provider did not say. */
  expires_at: number;
}

/** What the login redirect carries to the callback (in a sealed cookie). */
export interface LoginChecks {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
}

export type SignInOutcome =
  { kind: 'signed-in'; user: User; identity: ProviderIdentity } | { kind: 'onboard'; identity: ProviderIdentity; token: StoredToken };

export interface OidcServiceDeps {
  db: Db;
  settings: SettingsReader;
  users: UserService;
  groups: Pick<UserGroups, 'setUserGroups'>;
  box: SecretSealer;
  store: OidcUserStore;
  logger: Logger;
  onCredentialsChanged?: () => void;
}

function connectionOf(s: SystemSettings): ProviderConnection {
  return { endpoint: s.oidc_endpoint, clientId: s.oidc_client_id, clientSecret: s.oidc_client_secret, verifyCert: s.oidc_verify_cert };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A groups claim: a list of names, or one name (some providers send a string for a single group). */
function groupsClaim(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return [value];
  return undefined;
}

function errorText(err: unknown): string {
  // The provider's own words (an OAuth error and its description) where it gave them.
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
    return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return err instanceof Error ? err.message + cause : String(err);
}

/** Compares two secrets in constant time (their hashes, so that lengths do not show). */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** OIDC sign-in, onboarding and CLI secrets. */
export class OidcService {
  private readonly clients = new ProviderClients();
  /** Refreshes under way, per user: concurrent logins share one (a rotated refresh token works once). */
  private readonly refreshing = new Map<number, Promise<boolean>>();

  constructor(private readonly deps: OidcServiceDeps) {}

  enabled(): boolean {
    return this.deps.settings.current().auth_mode === 'oidc_auth';
  }

  private client(): Promise<oidc.Configuration> {
    return this.clients.get(connectionOf(this.deps.settings.current()));
  }

  /** The provider's authorization URL for a new sign-in, and what the callback must check. */
  async authorizationRequest(redirectUri: string): Promise<{ url: URL; checks: LoginChecks }> {
    const s = this.deps.settings.current();
    let config: oidc.Configuration;
    try {
      config = await this.client();
    } catch (err) {
      throw apiError('INTERNAL_SERVER_ERROR', `the OIDC provider ${s.oidc_endpoint} cannot be reached: ${errorText(err)}`);
    }
    const verifier = oidc.randomPKCECodeVerifier();
    const checks: LoginChecks = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, redirectUri };
    const scope = s.oidc_scope
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    const parameters: Record<string, string> = {};
    // Extra parameters first: the protocol's own cannot be overridden by them.
    if (s.oidc_extra_redirect_parms.trim() !== '') {
      try {
        const extra = JSON.parse(s.oidc_extra_redirect_parms) as Record<string, unknown>;
        for (const [key, value] of Object.entries(extra ?? {})) parameters[key] = String(value);
      } catch {
        this.deps.logger.warn('oidc_extra_redirect_parms is not a JSON object; sending none');
      }
    }
    Object.assign(parameters, {
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: (scope.length > 0 ? scope : ['openid']).join(' '),
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url: oidc.buildAuthorizationUrl(config, parameters), checks };
  }

  /**
   * The callback: exchanges the code (state, PKCE and the ID token's nonce, issuer, audience and
   * signature checked), reads who signed in, and either signs a known subject in (tokens, groups
   * and admin group updated) or onboards them (auto-onboarding) or says onboarding is needed.
   */
  async completeSignIn(callbackUrl: URL, checks: LoginChecks, clientIp: string): Promise<SignInOutcome> {
    const config = await this.client();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw apiError('BAD_REQUEST', `the OIDC provider's answer was refused: ${errorText(err)}`);
    }
    const identity = await this.identityOf(config, tokens);
    const token = this.storedToken(tokens);
    const known = await this.deps.store.bySubiss(identity.subject + identity.issuer);
    if (known) {
      const user = await this.deps.users.byId(known.user_id);
      if (!user) throw apiError('INTERNAL_SERVER_ERROR', 'the user of this OIDC subject is gone');
      await this.deps.store.setToken(known.user_id, this.deps.box.seal(JSON.stringify(token)), token.expires_at);
      await this.applyGroups(user, identity);
      await this.auditLogin(user.username, clientIp);
      return { kind: 'signed-in', user, identity };
    }
    if (!this.deps.settings.current().oidc_auto_onboard) return { kind: 'onboard', identity, token };
    if (identity.username === '') {
      const claim = this.deps.settings.current().oidc_user_claim || 'name';
      throw apiError('BAD_REQUEST', `the OIDC provider gave no username (claim "${claim}"), so the user cannot be onboarded automatically`);
    }
    const user = await this.onboard(identity, token, identity.username, clientIp);
    return { kind: 'signed-in', user, identity };
  }

  /**
   * Creates the user of a first sign-in with the username given (409 when taken: an existing
   * account is never linked to a new subject), their CLI secret and tokens.
   */
  async onboard(identity: ProviderIdentity, token: StoredToken, username: string, clientIp: string): Promise<User> {
    const { users, store, box } = this.deps;
    const subiss = identity.subject + identity.issuer;
    const already = await store.bySubiss(subiss);
    if (already) throw apiError('CONFLICT', 'this OIDC account has already been onboarded; sign in again');
    if (await users.byUsername(username)) {
      throw apiError('CONFLICT', `the username ${username} is already taken by another account: choose another`);
    }
    const emailValid = /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(identity.email);
    if (emailValid) {
      const other = await store.userByEmail(identity.email);
      if (other) throw apiError('CONFLICT', `the email ${identity.email} is already used by another account`);
    }
    const user = await users.onboardExternal(
      { username, email: emailValid ? identity.email : '', realname: identity.realname || username, comment: onboardedComment },
      username,
    );
    // onboardExternal returns an account of that name created meanwhile: only a fresh OIDC one may be linked.
    if (user.password_hash !== '' || user.comment !== onboardedComment) {
      throw apiError('CONFLICT', `the username ${username} is already taken by another account: choose another`);
    }
    try {
      await store.insert({
        userId: Number(user.id),
        subiss,
        secret: box.seal(generateSecret()),
        token: box.seal(JSON.stringify(token)),
        tokenExpiresAt: token.expires_at,
      });
    } catch (err) {
      // Another request linked this user or subject first: the same subject is fine, anything else a conflict.
      const linked = await store.bySubiss(subiss);
      if (!linked || linked.user_id !== Number(user.id)) {
        throw apiError('CONFLICT', `the username ${username} is already taken by another account: choose another`);
      }
      void err;
    }
    await this.applyGroups(user, identity);
    await this.auditLogin(user.username, clientIp);
    return (await users.byId(Number(user.id))) ?? user;
  }

  private async auditLogin(username: string, clientIp: string): Promise<void> {
    await writeAudit(this.deps.db, { username, operation: 'login', resourceType: 'user', resource: username, clientIp });
  }

  private async applyGroups(user: User, identity: ProviderIdentity): Promise<void> {
    const id = Number(user.id);
    await this.deps.groups.setUserGroups(
      id,
      oidcGroupType,
      identity.groups.map((name) => ({ name })),
    );
    await this.deps.users.setGroupAdmin(id, identity.admin);
  }

  private storedToken(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, previous?: StoredToken): StoredToken {
    const expiresIn = tokens.expiresIn();
    const idExp = tokens.claims()?.exp;
    const expires_at = expiresIn !== undefined ? Date.now() + expiresIn * 1000 : typeof idExp === 'number' ? idExp * 1000 : 0;
    return {
      id_token: tokens.id_token ?? previous?.id_token,
      refresh_token: tokens.refresh_token ?? previous?.refresh_token,
      expires_at,
    };
  }

  /**
   * Who signed in: the ID token's claims, with the userinfo endpoint's over them where the
   * provider has one (Harbor's order: the username claim from the ID token first, then
   * userinfo; email and groups from userinfo when it has them).
   */
  private async identityOf(
    config: oidc.Configuration,
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    expected?: { subject: string; issuer: string },
  ): Promise<ProviderIdentity> {
    const s = this.deps.settings.current();
    const id = (tokens.claims() ?? {}) as Record<string, unknown>;
    const subject = stringClaim(id.sub) ?? expected?.subject;
    const issuer = stringClaim(id.iss) ?? expected?.issuer;
    if (!subject || !issuer) throw apiError('BAD_REQUEST', 'the OIDC provider sent no ID token');
    if (expected && (subject !== expected.subject || issuer !== expected.issuer)) {
      throw new Error('the refreshed ID token names another subject');
    }
    let info: Record<string, unknown> | undefined;
    if (tokens.access_token && config.serverMetadata().userinfo_endpoint) {
      try {
        info = (await oidc.fetchUserInfo(config, tokens.access_token, subject)) as Record<string, unknown>;
      } catch (err) {
        this.deps.logger.warn({ err: errorText(err) }, 'OIDC: the userinfo endpoint failed; using the ID token alone');
      }
    }
    const claim = (name: string) => stringClaim(id[name]) ?? stringClaim(info?.[name]);
    const name = stringClaim(info?.name) ?? stringClaim(id.name);
    const username = ((s.oidc_user_claim ? claim(s.oidc_user_claim) : undefined) ?? name ?? '').replace(/ /g, '_');
    const groupsKey = s.oidc_groups_claim.trim();
    const raw = groupsKey === '' ? [] : (groupsClaim(info?.[groupsKey]) ?? groupsClaim(id[groupsKey]) ?? []);
    return {
      subject,
      issuer,
      username,
      realname: name ?? '',
      email: stringClaim(info?.email) ?? stringClaim(id.email) ?? '',
      groups: this.filterGroups(raw, s.oidc_group_filter),
      admin: s.oidc_admin_group !== '' && raw.includes(s.oidc_admin_group),
    };
  }

  private filterGroups(groups: string[], filter: string): string[] {
    if (filter === '') return groups;
    let pattern: RegExp;
    try {
      pattern = new RegExp(filter);
    } catch {
      this.deps.logger.warn({ filter }, 'OIDC: oidc_group_filter is not a valid regular expression; groups are not filtered');
      return groups;
    }
    return groups.filter((g) => pattern.test(g));
  }

  // ---- CLI secrets ----

  /**
   * docker login with username and CLI secret. When the provider's token has expired it is
   * refreshed first (groups and admin group read again); when that fails, or there is no
   * refresh token, the secret stops working until the user signs in to the portal again.
   */
  async verifyCliSecret(username: string, secret: string): Promise<UserIdentity | null> {
    const user = await this.deps.users.byUsername(username);
    const row = user ? await this.deps.store.byUserId(Number(user.id)) : undefined;
    if (!user || !row) {
      sameSecret(secret, 'no such user: same cost');
      return null;
    }
    let stored: string;
    try {
      stored = this.deps.box.open(row.secret);
    } catch (err) {
      this.deps.logger.error({ err: errorText(err), username }, 'OIDC: the stored CLI secret cannot be opened');
      return null;
    }
    if (!sameSecret(secret, stored)) return null;
    if (row.token_expires_at !== 0 && row.token_expires_at <= Date.now()) {
      if (!(await this.refreshOnce(user, row))) return null;
    }
    const current = (await this.deps.users.byId(Number(user.id))) ?? user;
    return userIdentity(current, 'cli_secret');
  }

  private refreshOnce(user: User, row: OidcUserRow): Promise<boolean> {
    const id = Number(user.id);
    let pending = this.refreshing.get(id);
    if (!pending) {
      pending = this.refresh(user, row).finally(() => this.refreshing.delete(id));
      this.refreshing.set(id, pending);
    }
    return pending;
  }

  private async refresh(user: User, row: OidcUserRow): Promise<boolean> {
    const { logger, box, store } = this.deps;
    let token: StoredToken;
    try {
      token = JSON.parse(box.open(row.token)) as StoredToken;
    } catch {
      token = { expires_at: 0 };
    }
    if (!token.refresh_token) {
      logger.warn(
        { username: user.username },
        'OIDC: the provider token has expired and there is no refresh token (is offline_access in oidc_scope?): the CLI secret stops working until the user signs in to the portal again',
      );
      return false;
    }
    try {
      const config = await this.client();
      const tokens = await oidc.refreshTokenGrant(config, token.refresh_token);
      const issuer = config.serverMetadata().issuer;
      if (!row.subiss.endsWith(issuer)) throw new Error(`the user signed in through another issuer than ${issuer}`);
      const expected = { subject: row.subiss.slice(0, -issuer.length), issuer };
      const identity = await this.identityOf(config, tokens, expected);
      const next = this.storedToken(tokens, token);
      await store.setToken(Number(user.id), box.seal(JSON.stringify(next)), next.expires_at);
      await this.applyGroups(user, identity);
      logger.debug({ username: user.username }, 'OIDC: provider token refreshed');
      return true;
    } catch (err) {
      // Another instance may have refreshed (and rotated the refresh token) just before.
      const now = await store.byUserId(Number(user.id));
      if (now && now.token !== row.token && (now.token_expires_at === 0 || now.token_expires_at > Date.now())) return true;
      logger.warn(
        { username: user.username, err: errorText(err) },
        'OIDC: refreshing the provider token failed: the CLI secret stops working until the user signs in to the portal again',
      );
      return false;
    }
  }

  /** Harbor's OIDCUserInfo of a user onboarded through OIDC, the CLI secret in clear; null for others. */
  async userMeta(userId: number): Promise<Record<string, unknown> | null> {
    // Harbor shows it in oidc_auth only: in another mode the secret opens nothing.
    if (!this.enabled()) return null;
    const row = await this.deps.store.byUserId(userId);
    if (!row) return null;
    let secret = '';
    try {
      secret = this.deps.box.open(row.secret);
    } catch (err) {
      this.deps.logger.error({ err: errorText(err), userId }, 'OIDC: the stored CLI secret cannot be opened');
    }
    return {
      id: row.user_id,
      user_id: row.user_id,
      subiss: row.subiss,
      secret,
      creation_time: row.creation_time,
      update_time: row.update_time,
    };
  }

  /** PUT /users/{id}/cli_secret: a secret of the password rule's shape, or a new random one when empty. */
  async setCliSecret(userId: number, secret: unknown, actor: string): Promise<void> {
    if (!this.enabled()) {
      throw apiError(
        'PRECONDITION',
        `the CLI secret can be set only in oidc_auth mode (auth_mode is ${this.deps.settings.current().auth_mode})`,
      );
    }
    const user = await this.deps.users.get(userId);
    const row = await this.deps.store.byUserId(userId);
    if (!row) throw apiError('PRECONDITION', `user ${user.username} was not onboarded through OIDC and has no CLI secret`);
    if (secret !== undefined && secret !== null && typeof secret !== 'string') throw apiError('BAD_REQUEST', 'secret must be a string');
    const next = secret ? checkPassword(secret) : generateSecret();
    await this.deps.store.setSecret(userId, this.deps.box.seal(next), {
      username: actor,
      operation: 'update',
      resourceType: 'user',
      resource: `${user.username}:cli_secret`,
    });
    this.deps.onCredentialsChanged?.();
  }

  /** POST /system/oidc/ping: null when the issuer's discovery document reads, else why not. */
  async ping(url: string, verifyCert: boolean): Promise<string | null> {
    try {
      await discoverProvider(url, verifyCert);
      return null;
    } catch (err) {
      return errorText(err);
    }
  }

  /**
   * Where to send the browser after a portal sign-out with oidc_logout on: the provider's
   * end_session_endpoint with the user's last ID token; null when that cannot be done.
   */
  async logoutLocation(userId: number, postLogoutRedirectUri: string): Promise<string | null> {
    const s = this.deps.settings.current();
    if (!this.enabled() || !s.oidc_logout) return null;
    const row = await this.deps.store.byUserId(userId);
    if (!row) return null;
    try {
      const token = JSON.parse(this.deps.box.open(row.token)) as StoredToken;
      const config = await this.client();
      if (!token.id_token || !config.serverMetadata().end_session_endpoint) return null;
      return oidc.buildEndSessionUrl(config, { id_token_hint: token.id_token, post_logout_redirect_uri: postLogoutRedirectUri }).href;
    } catch (err) {
      this.deps.logger.warn({ err: errorText(err) }, 'OIDC: no sign-out at the provider');
      return null;
    }
  }
}
