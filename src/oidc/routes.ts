import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireAuthenticated, denied, type AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import type { SecretSealer } from '../auth/secret-box.js';
import type { SessionStore } from '../auth/sessions.js';
import { bodyOf, idParam } from '../http/api-helpers.js';
import { sessionCookie } from '../http/request.js';
import { bool, empty, int, object, operation, pathParams, str } from '../http/schema-helpers.js';
import { apiError, isAppError } from '../lib/errors.js';
import type { Logger } from 'pino';
import type { SettingsReader } from '../settings/settings.js';
import type { LoginChecks, OidcService, ProviderIdentity, StoredToken } from './service.js';

export interface OidcRouteDeps {
  service: OidcService;
  settings: SettingsReader;
  sessions: SessionStore;
  box: SecretSealer;
  externalUrl: string | undefined;
  secureCookies: boolean;
  logger: Logger;
}

/** The login's state, nonce and PKCE verifier, from /c/oidc/login to the callback. */
const loginCookie = 'berth_oidc_login';
/** A first sign-in's verified identity and tokens, from the callback to /c/oidc/onboard. */
const onboardCookie = 'berth_oidc_onboard';
const cookiePath = '/c/oidc';
const loginTtlMs = 10 * 60_000;
const onboardTtlMs = 10 * 60_000;
const maxCookieBytes = 3800;

interface LoginState extends LoginChecks {
  redirect: string;
}
interface OnboardState {
  identity: ProviderIdentity;
  token: StoredToken;
  redirect: string;
}

/** A portal path to return to: same site only (no scheme, no host, no `//`). */
function isLocalPath(path: string): boolean {
  return path === '' || (/^\/(?![/\\])/.test(path) && !/[\u0000-\u001f\\]/.test(path));
}

/** The sign-in page with what went wrong, which the portal shows. */
function signInWithError(message: string): string {
  return `/sign-in?oidc_error=${encodeURIComponent(message)}`;
}

/** /c/oidc/login, /c/oidc/callback, /c/oidc/onboard and /c/oidc/logout. */
export async function registerOidcRootRoutes(app: FastifyInstance, deps: OidcRouteDeps): Promise<void> {
  const { service, box, logger } = deps;
  const tags = ['auth'];

  /** Sealed (encrypted and authenticated) so that no instance needs server-side state and nobody can forge it. */
  function seal(purpose: string, body: unknown, ttlMs: number): string {
    const json = JSON.stringify({ purpose, exp: Date.now() + ttlMs, body });
    // Compressed: a cookie holds 4 KB, and tokens and long group lists compress well.
    return box.seal(`z:${deflateRawSync(json).toString('base64')}`);
  }
  function unseal<T>(purpose: string, value: string | undefined): T | null {
    if (!value) return null;
    try {
      const opened = box.open(value);
      const json = opened.startsWith('z:') ? inflateRawSync(Buffer.from(opened.slice(2), 'base64')).toString('utf8') : opened;
      const parsed = JSON.parse(json) as { purpose?: string; exp?: number; body?: T };
      if (parsed.purpose !== purpose || typeof parsed.exp !== 'number' || parsed.exp < Date.now()) return null;
      return parsed.body ?? null;
    } catch {
      return null;
    }
  }

  const secure = (req: FastifyRequest) => deps.secureCookies || req.protocol === 'https';
  const baseUrl = (req: FastifyRequest) => (deps.externalUrl ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '');

  function requireOidcMode(): void {
    const mode = deps.settings.current().auth_mode;
    if (mode !== 'oidc_auth') throw apiError('PRECONDITION', `auth mode: ${mode} is not OIDC based`);
  }

  /** A portal session, its cookie set exactly as /c/login sets it. */
  async function startSession(req: FastifyRequest, reply: FastifyReply, userId: number): Promise<void> {
    const session = await deps.sessions.create(userId);
    req.csrfToken = session.csrfToken;
    reply.setCookie(sessionCookie, session.id, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: secure(req),
      maxAge: deps.settings.current().session_timeout * 60,
    });
  }

  const cookieOptions = (req: FastifyRequest, maxAgeMs: number) => ({
    path: cookiePath,
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: secure(req),
    maxAge: Math.floor(maxAgeMs / 1000),
  });

  app.get(
    '/c/oidc/login',
    {
      schema: operation({
        tags,
        summary: "Sign in through the OIDC provider: redirects to the provider's login page",
        querystring: object({ redirect_url: str('A portal path to return to after signing in') }),
        response: { 302: empty("To the provider's authorization endpoint") },
        errors: [400, 412, 500],
      }),
    },
    async (req, reply) => {
      requireOidcMode();
      const redirect = (req.query as { redirect_url?: string }).redirect_url ?? '';
      if (!isLocalPath(redirect))
        throw apiError('BAD_REQUEST', 'cannot redirect to other site: redirect_url must be a path of this portal');
      const { url, checks } = await service.authorizationRequest(`${baseUrl(req)}/c/oidc/callback`);
      reply.setCookie(loginCookie, seal('login', { ...checks, redirect } satisfies LoginState, loginTtlMs), cookieOptions(req, loginTtlMs));
      return reply.redirect(url.href, 302);
    },
  );

  app.get(
    '/c/oidc/callback',
    {
      schema: operation({
        tags,
        summary: 'Where the OIDC provider sends the browser back',
        description:
          'Signs the user in (302 to the portal), or sends a first sign-in to /oidc-onboard when automatic onboarding is off; on an error, 302 to /sign-in?oidc_error=….',
        response: { 302: empty('To the portal, the onboarding page or the sign-in page with the error') },
        errors: [412],
      }),
    },
    async (req, reply) => {
      requireOidcMode();
      const state = unseal<LoginState>('login', req.cookies[loginCookie]);
      reply.clearCookie(loginCookie, { path: cookiePath });
      const query = req.query as Record<string, string | undefined>;
      try {
        if (!state) throw apiError('BAD_REQUEST', 'the sign-in has expired or was started in another browser: sign in again');
        if (query.state !== state.state) throw apiError('BAD_REQUEST', 'State mismatch: sign in again');
        if (query.error) {
          throw apiError(
            'BAD_REQUEST',
            `the OIDC provider refused: ${query.error}${query.error_description ? ` - ${query.error_description}` : ''}`,
          );
        }
        const callbackUrl = new URL(state.redirectUri);
        callbackUrl.search = new URL(req.url, 'http://callback').search;
        const outcome = await service.completeSignIn(callbackUrl, state, req.ip);
        if (outcome.kind === 'onboard') {
          const onboard: OnboardState = { identity: outcome.identity, token: outcome.token, redirect: state.redirect };
          let sealed = seal('onboard', onboard, onboardTtlMs);
          // Browsers drop cookies over 4 KB: without the ID token (only sign-out at the provider wants it) it fits.
          if (sealed.length > maxCookieBytes)
            sealed = seal('onboard', { ...onboard, token: { ...onboard.token, id_token: undefined } }, onboardTtlMs);
          if (sealed.length > maxCookieBytes)
            logger.warn({ bytes: sealed.length }, 'OIDC: the onboarding cookie is larger than browsers keep');
          reply.setCookie(onboardCookie, sealed, cookieOptions(req, onboardTtlMs));
          const target = new URLSearchParams({ username: outcome.identity.username, redirect_url: state.redirect });
          return reply.redirect(`/oidc-onboard?${target}`, 302);
        }
        await startSession(req, reply, Number(outcome.user.id));
        return reply.redirect(state.redirect || '/', 302);
      } catch (err) {
        if (!isAppError(err) || err.status >= 500) logger.error({ err }, 'OIDC: the sign-in callback failed');
        const message = isAppError(err) && err.status < 500 ? err.message : `the OIDC sign-in failed: ${(err as Error).message}`;
        return reply.redirect(signInWithError(message), 302);
      }
    },
  );

  app.post(
    '/c/oidc/onboard',
    {
      schema: operation({
        tags,
        summary: 'Complete a first OIDC sign-in with the username the user chose',
        body: object({ username: str('The username of the new account') }, ['username']),
        response: { 200: empty('Onboarded and signed in: the session cookie is set') },
        errors: [400, 401, 409, 412],
      }),
    },
    async (req, reply) => {
      requireOidcMode();
      const username = bodyOf(req).username;
      if (typeof username !== 'string' || username.length < 1 || username.length > 255) {
        throw apiError('BAD_REQUEST', 'username with illegal length: 1 to 255 characters');
      }
      const raw = req.cookies[onboardCookie];
      if (!raw) throw apiError('BAD_REQUEST', 'Failed to get OIDC user info from session: sign in through the OIDC provider first');
      const state = unseal<OnboardState>('onboard', raw);
      if (!state) throw apiError('UNAUTHORIZED', 'the OIDC sign-in has expired or is not valid: sign in through the OIDC provider again');
      const user = await service.onboard(state.identity, state.token, username, req.ip);
      reply.clearCookie(onboardCookie, { path: cookiePath });
      await startSession(req, reply, Number(user.id));
      return reply.code(200).send();
    },
  );

  app.get(
    '/c/oidc/logout',
    {
      schema: operation({
        tags,
        summary: "Sign out of the portal and, with oidc_logout on, of the provider's session",
        response: { 302: empty("To the provider's end-session endpoint, or the sign-in page") },
      }),
    },
    async (req, reply) => {
      let location: string | null = null;
      if (req.sessionId && req.identity.kind === 'user') {
        location = await service.logoutLocation(req.identity.userId, `${baseUrl(req)}/sign-in`);
        await deps.sessions.delete(req.sessionId);
      }
      req.csrfToken = null;
      reply.clearCookie(sessionCookie, { path: '/' });
      return reply.redirect(location ?? '/sign-in', 302);
    },
  );
}

/** PUT /users/{user_id}/cli_secret and POST /system/oidc/ping. */
export async function registerOidcApiRoutes(app: FastifyInstance, deps: { service: OidcService; guard: AccessGuard }): Promise<void> {
  const { service, guard } = deps;

  app.put(
    '/users/:user_id/cli_secret',
    {
      schema: operation({
        tags: ['user'],
        operationId: 'setCliSecret',
        summary: "Set a user's CLI secret",
        description:
          'The user themself or a system administrator, in oidc_auth mode, for a user onboarded through OIDC. The secret follows the password rule (8-128 characters, upper and lower case, a digit); an empty one makes a new random secret. The old secret stops working.',
        params: pathParams({ user_id: int('Id of the user', { minimum: 1 }) }),
        body: object({ secret: str('The new secret') }),
        response: { 200: empty('The secret was set') },
        errors: [400, 401, 403, 404, 412, 500],
      }),
    },
    async (req, reply) => {
      const id = idParam((req.params as { user_id: string }).user_id, 'user_id');
      requireAuthenticated(req.identity);
      const mode = service.enabled();
      if (!mode) throw apiError('PRECONDITION', 'unable to update CLI secret: the auth mode is not oidc_auth');
      const self = req.identity.kind === 'user' && req.identity.userId === id;
      if (!self && !guard.canSystem(req.identity, 'user', 'update')) throw denied(req.identity, "update of another user's CLI secret");
      const body = req.body === undefined || req.body === null ? {} : bodyOf(req);
      await service.setCliSecret(id, body.secret, displayName(req.identity));
      return reply.code(200).send();
    },
  );

  app.post(
    '/system/oidc/ping',
    {
      schema: operation({
        tags: ['oidc'],
        operationId: 'pingOIDC',
        summary: 'Test an OIDC endpoint',
        description: "System administrators only. Reads the issuer's discovery document (/.well-known/openid-configuration).",
        body: object({ url: str('The issuer URL to test'), verify_cert: bool('Whether to verify its TLS certificate (default true)') }),
        response: { 200: empty('The endpoint answered with a valid discovery document') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'configuration', 'update');
      const body = bodyOf(req);
      if (typeof body.url !== 'string' || body.url.trim() === '') throw apiError('BAD_REQUEST', 'url is required');
      if (body.verify_cert !== undefined && typeof body.verify_cert !== 'boolean')
        throw apiError('BAD_REQUEST', 'verify_cert must be true or false');
      const problem = await service.ping(body.url.trim(), body.verify_cert !== false);
      if (problem) throw apiError('BAD_REQUEST', `failed to verify the OIDC endpoint ${body.url}: ${problem}`);
      return reply.code(200).send();
    },
  );
}
