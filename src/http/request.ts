import '@fastify/cookie';
import type { Identity } from '../auth/identity.js';

/**
 * What every request carries once the server's authentication hook has run
 * (server/authenticate.ts), for every feature's routes to read.
 */
declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
    /** Set when the request came with a portal session cookie. */
    sessionId: string | null;
    /** The session's CSRF token, echoed in every response to it. */
    csrfToken: string | null;
  }
}

/** The portal session's cookie, set at sign-in (password or OIDC) and cleared at sign-out. */
export const sessionCookie = 'sid';
export const csrfHeader = 'x-harbor-csrf-token';

/** Methods that change nothing: no CSRF check, allowed in read-only mode. */
export const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
