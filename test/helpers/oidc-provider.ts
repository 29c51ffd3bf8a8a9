import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A user the test provider knows; `id` is the subject (`sub`) and what the login form takes. */
export interface OidcTestAccount {
  id: string;
  name?: string;
  preferred_username?: string;
  email?: string;
  groups?: string[];
}

export interface OidcProviderOptions {
  /** Berth's base URLs (no trailing slash): each `<url>/c/oidc/callback` is a registered redirect URI. */
  berthUrls: string[];
  /** Serve HTTPS with this key and certificate (for 127.0.0.1): the issuer is then https://127.0.0.1:<port>. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  accounts?: OidcTestAccount[];
  clientId?: string;
  clientSecret?: string;
  /** Lifetimes in seconds (defaults: access and ID tokens 60, refresh tokens one day). */
  accessTokenTtl?: number;
  idTokenTtl?: number;
  refreshTokenTtl?: number;
  /**
   * true (default): the ID token carries name, preferred_username, email and groups, as Keycloak's and
   * Dex's do. false: the ID token carries `sub` only and the rest comes from the userinfo endpoint.
   */
  claimsInIdToken?: boolean;
  /** Issue a new refresh token at each refresh and refuse the old one (default true). */
  rotateRefreshTokens?: boolean;
}

export interface TestOidcProvider {
  /** http://127.0.0.1:<port>: also oidc_endpoint. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Adds an account or replaces its claims (say, new groups; seen at the next sign-in or token refresh). */
  setAccount(account: OidcTestAccount): void;
  /**
   * Revokes everything the account was given: grants, refresh and access tokens, provider sessions.
   * A later refresh with one of its refresh tokens fails. Returns how many records went.
   */
  revokeAccount(accountId: string): number;
  /** How many refresh_token grants the token endpoint answered successfully. */
  refreshes(): number;
  /**
   * The settings for PUT /api/v2.0/configurations that make Berth sign in through this provider
   * (auth_mode oidc_auth, auto-onboarding on, usernames from preferred_username, admin group
   * `registry-admins`); `overrides` replace any of them.
   */
  settings(overrides?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

interface Stored {
  payload: Record<string, unknown>;
  expiresAt: number | undefined;
}

/**
 * Starts a real OpenID Connect provider (the `oidc-provider` package) on 127.0.0.1 with a random
 * port and one confidential client for Berth: authorization code with PKCE (S256, required),
 * refresh tokens for the offline_access scope (which oidc-provider only grants with prompt=consent,
 * hence `oidc_extra_redirect_parms` in `settings()`), and a login form that accepts any password
 * for a known account id (drive it with `signInThroughProvider`).
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<TestOidcProvider> {
  const clientId = options.clientId ?? 'berth';
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('hex');
  const accounts = new Map<string, OidcTestAccount>();
  for (const account of options.accounts ?? []) accounts.set(account.id, account);
  const store = new Map<string, Stored>();
  let refreshes = 0;

  const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }) : createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // One store per provider (oidc-provider's own memory adapter is shared by the whole process).
  class Adapter {
    constructor(private readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    }
    async find(id: string) {
      const entry = store.get(this.key(id));
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt < Date.now()) {
        store.delete(this.key(id));
        return undefined;
      }
      return entry.payload;
    }
    async findByUid(uid: string) {
      for (const [key, entry] of store) if (key.startsWith(`${this.model}:`) && entry.payload.uid === uid) return entry.payload;
      return undefined;
    }
    async findByUserCode(userCode: string) {
      for (const [key, entry] of store) if (key.startsWith(`${this.model}:`) && entry.payload.userCode === userCode) return entry.payload;
      return undefined;
    }
    async consume(id: string) {
      const entry = store.get(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key, entry] of store) if (entry.payload.grantId === grantId) store.delete(key);
    }
  }

  const claimsOf = (account: OidcTestAccount) => ({
    sub: account.id,
    ...(account.name !== undefined ? { name: account.name } : {}),
    ...(account.preferred_username !== undefined ? { preferred_username: account.preferred_username } : {}),
    ...(account.email !== undefined ? { email: account.email, email_verified: true } : {}),
    ...(account.groups !== undefined ? { groups: account.groups } : {}),
  });

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const accessTtl = options.accessTokenTtl ?? 60;
  const configuration = {
    adapter: Adapter,
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.berthUrls.map((url) => `${url}/c/oidc/callback`),
        post_logout_redirect_uris: options.berthUrls.flatMap((url) => [`${url}/sign-in`, `${url}/`]),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        // Read at each use, so that setAccount shows in the next token.
        async claims() {
          return claimsOf(accounts.get(id) ?? account);
        },
      };
    },
    // groups under openid: every token carries them, whatever else was asked (as a Keycloak mapper does).
    claims: {
      openid: ['sub', 'groups'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    conformIdTokenClaims: options.claimsInIdToken === false,
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // Plain pages of our own: oidc-provider's defaults print a notice on each use.
        async logoutSource(ctx: any, form: string) {
          ctx.body = page(
            'Sign out',
            `<h1>Do you want to sign out from ${ctx.host}?</h1>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button><button type="submit" form="op.logoutForm">No, stay signed in</button>`,
          );
        },
        async postLogoutSuccessSource(ctx: any) {
          ctx.body = page('Signed out', '<h1>You are signed out.</h1>');
        },
      },
    },
    pkce: { required: () => true, methods: ['S256'] },
    async renderError(ctx: any, out: Record<string, string>) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>${escapeHtml(out.error ?? 'error')}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`);
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: options.rotateRefreshTokens ?? true,
    cookies: { keys: [randomBytes(16).toString('hex')] },
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' }] },
    ttl: {
      AccessToken: accessTtl,
      AuthorizationCode: 60,
      ClientCredentials: accessTtl,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      IdToken: options.idTokenTtl ?? 60,
      RefreshToken: options.refreshTokenTtl ?? 86_400,
      Interaction: 600,
      Session: 3600,
      Grant: 86_400,
    },
  };

  // oidc-provider warns on the console about development-only features; these tests want exactly those.
  const warn = console.warn;
  const info = console.info;
  let provider: any;
  try {
    console.warn = (...args: unknown[]) => {
      if (!String(args[0]).includes('oidc-provider')) warn(...args);
    };
    console.info = (...args: unknown[]) => {
      if (!String(args[0]).includes('oidc-provider')) info(...args);
    };
    provider = new Provider(issuer, configuration);
    // Builds the routes (and prints the devInteractions notice) now, while the console is quiet.
    provider.callback();
  } finally {
    console.warn = warn;
    console.info = info;
  }
  provider.on('grant.success', (ctx: any) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') refreshes += 1;
  });
  server.on('request', provider.callback());

  return {
    issuer,
    clientId,
    clientSecret,
    setAccount(account) {
      accounts.set(account.id, account);
    },
    revokeAccount(accountId) {
      const grants = new Set<unknown>();
      let removed = 0;
      for (const [key, entry] of store) {
        if (entry.payload.accountId === accountId) {
          if (entry.payload.grantId) grants.add(entry.payload.grantId);
          if (key.startsWith('Grant:')) grants.add(entry.payload.jti);
          store.delete(key);
          removed += 1;
        }
      }
      for (const [key, entry] of store) {
        if (grants.has(entry.payload.grantId)) {
          store.delete(key);
          removed += 1;
        }
      }
      return removed;
    },
    refreshes: () => refreshes,
    settings(overrides = {}) {
      return {
        auth_mode: 'oidc_auth',
        oidc_name: 'Test provider',
        oidc_endpoint: issuer,
        oidc_client_id: clientId,
        oidc_client_secret: clientSecret,
        oidc_scope: 'openid,profile,email,offline_access',
        oidc_groups_claim: 'groups',
        oidc_user_claim: 'preferred_username',
        oidc_admin_group: 'registry-admins',
        oidc_auto_onboard: true,
        oidc_verify_cert: true,
        // oidc-provider grants offline_access (a refresh token) only with prompt=consent (OIDC Core 11).
        oidc_extra_redirect_parms: JSON.stringify({ prompt: 'consent' }),
        ...overrides,
      };
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main>${body}</main></body></html>`;
}

/** One request to the provider through node:http(s), so that a test CA (`ca`) can be trusted; redirects not followed. */
function providerRequest(
  url: URL,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  ca?: string | Buffer,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: init.method ?? 'GET', headers: init.headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (Array.isArray(value)) for (const v of value) headers.append(name, v);
          else if (value !== undefined) headers.set(name, value);
        }
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers }));
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A minimal cookie jar: name → value, dropping cookies set to expire. */
class CookieJar {
  readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface ProviderSignIn {
  /** Berth's status for the callback: 302 when signed in or sent to onboarding, else an error. */
  status: number;
  /** Where Berth sent the browser: the portal path, `/oidc-onboard?username=…`, or '' on an error. */
  location: string;
  /** A Cookie header with every cookie Berth set: `sid` when signed in, the onboarding cookie otherwise. */
  cookie: string;
  /** Berth's cookies by name. */
  cookies: Map<string, string>;
  /** The callback's response body (an error's JSON or page). */
  body: string;
}

/**
 * Signs in to Berth through its OIDC provider over plain HTTP, as a browser would: GET
 * /c/oidc/login, the provider's login form (posting `accountId`, any password), its consent
 * form, and Berth's /c/oidc/callback, carrying each side's cookies. Berth's answer to the
 * callback is returned (its session cookie on success); the provider must know the account.
 */
export async function signInThroughProvider(
  berthUrl: string,
  accountId: string,
  options: {
    redirectUrl?: string;
    /** The CA of a provider serving HTTPS with a test certificate. */
    providerCa?: string | Buffer;
    /** Send the provider's redirect back to this Berth instance instead (instances sharing one database). */
    callbackOrigin?: string;
  } = {},
): Promise<ProviderSignIn> {
  const berth = new CookieJar();
  const provider = new CookieJar();
  const berthOrigin = new URL(berthUrl).origin;
  const login = new URL('/c/oidc/login', berthUrl);
  if (options.redirectUrl !== undefined) login.searchParams.set('redirect_url', options.redirectUrl);

  let res = await fetch(login, { redirect: 'manual' });
  berth.take(res);
  if (res.status !== 302) throw new Error(`GET /c/oidc/login answered ${res.status}: ${await res.text()}`);
  let current = new URL(res.headers.get('location') ?? '', login);

  for (let step = 0; step < 20; step += 1) {
    if (current.origin === berthOrigin) {
      // Another instance behind the same address may take the callback.
      const target = options.callbackOrigin ? new URL(current.pathname + current.search, options.callbackOrigin) : current;
      res = await fetch(target, { redirect: 'manual', headers: { cookie: berth.header() } });
      berth.take(res);
      return {
        status: res.status,
        location: res.headers.get('location') ?? '',
        cookie: berth.header(),
        cookies: berth.cookies,
        body: await res.text(),
      };
    }
    res = await providerRequest(current, { headers: { cookie: provider.header() } }, options.providerCa);
    provider.take(res);
    if (res.status >= 300 && res.status < 400) {
      current = new URL(res.headers.get('location') ?? '', current);
      continue;
    }
    const html = await res.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (res.status !== 200 || !current.pathname.startsWith('/interaction/') || !prompt) {
      throw new Error(`the provider answered ${res.status} at ${current.pathname}: ${html.slice(0, 2000)}`);
    }
    const form: Record<string, string> = prompt === 'login' ? { prompt, login: accountId, password: 'any' } : { prompt };
    res = await providerRequest(
      current,
      {
        method: 'POST',
        headers: { cookie: provider.header(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      },
      options.providerCa,
    );
    provider.take(res);
    if (res.status < 300 || res.status >= 400) throw new Error(`the provider's ${prompt} form answered ${res.status}: ${await res.text()}`);
    current = new URL(res.headers.get('location') ?? '', current);
  }
  throw new Error('too many redirects between Berth and the provider');
}
