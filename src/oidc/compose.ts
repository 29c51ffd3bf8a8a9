import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AccessGuard } from '../auth/guard.js';
import type { UserIdentity } from '../auth/principals.js';
import type { SessionStore } from '../auth/sessions.js';
import type { SecretSealer } from '../auth/secret-box.js';
import type { Db } from '../db/index.js';
import type { SettingsReader } from '../settings/settings.js';
import type { UserGroups } from '../usergroups/compose.js';
import type { UserService } from '../users/service.js';
import { registerOidcApiRoutes, registerOidcRootRoutes } from './routes.js';
import { OidcService } from './service.js';
import { OidcUserStore } from './store.js';

export interface OidcDeps {
  db: Db;
  settings: SettingsReader;
  users: UserService;
  groups: Pick<UserGroups, 'setUserGroups'>;
  sessions: SessionStore;
  box: SecretSealer;
  externalUrl: string | undefined;
  secureCookies: boolean;
  logger: Logger;
  /** After a CLI secret changes: drops cached verified credentials, so the old secret stops at once. */
  onCredentialsChanged?: () => void;
}

export interface Oidc {
  /**
   * oidc_auth: a user's CLI secret (docker login); refreshes the provider token when it has
   * expired and refuses when it cannot. The identity has via 'cli_secret'; null when wrong.
   */
  verifyCliSecret(username: string, secret: string): Promise<UserIdentity | null>;
  /** `oidc_user_meta` of GET /users/current and /users/{id}: null for users not onboarded through OIDC. */
  userMeta(userId: number): Promise<Record<string, unknown> | null>;
  /**
   * Where the portal sends the browser after signing out, with oidc_logout on: the provider's
   * end-session endpoint for this user's last sign-in; null when there is none.
   */
  logoutLocation(userId: number, postLogoutRedirectUri: string): Promise<string | null>;
  /** /system/oidc/ping, PUT /users/{user_id}/cli_secret. */
  registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }): Promise<void>;
  /** /c/oidc/login, /c/oidc/callback, /c/oidc/onboard, /c/oidc/logout. */
  registerRootRoutes(app: FastifyInstance): Promise<void>;
}

export function createOidc(deps: OidcDeps): Oidc {
  const service = new OidcService({
    db: deps.db,
    settings: deps.settings,
    users: deps.users,
    groups: deps.groups,
    box: deps.box,
    store: new OidcUserStore(deps.db),
    logger: deps.logger,
    onCredentialsChanged: deps.onCredentialsChanged,
  });
  return {
    verifyCliSecret: (username, secret) => service.verifyCliSecret(username, secret),
    userMeta: (userId) => service.userMeta(userId),
    logoutLocation: (userId, postLogoutRedirectUri) => service.logoutLocation(userId, postLogoutRedirectUri),
    registerApiRoutes: (api, routeDeps) => registerOidcApiRoutes(api, { service, guard: routeDeps.guard }),
    registerRootRoutes: (app) =>
      registerOidcRootRoutes(app, {
        service,
        settings: deps.settings,
        sessions: deps.sessions,
        box: deps.box,
        externalUrl: deps.externalUrl,
        secureCookies: deps.secureCookies,
        logger: deps.logger,
      }),
  };
}
