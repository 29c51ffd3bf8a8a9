import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of every answer: the portal and the API docs load scripts only
 * from Berth itself (the built portal has no inline script), and may not be framed. Styles may
 * be inline because Mantine writes its CSS variables into <style> elements and components set
 * style attributes. Images may come from https (chart READMEs show badges) and data: URLs.
 */
export const contentSecurityPolicy = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:', 'https:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
};

/**
 * Security headers on every answer (helmet): the CSP above, X-Frame-Options: DENY,
 * X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, the cross-origin isolation
 * headers, and Strict-Transport-Security when clients reach Berth over TLS (`tls`: the
 * external URL is https; browsers ignore HSTS on plain http anyway, but a registry reached
 * over http must not tell them to insist on https).
 */
export async function registerSecurityHeaders(app: FastifyInstance, options: { tls: boolean }): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: options.tls ? { ...contentSecurityPolicy, 'upgrade-insecure-requests': [] } : contentSecurityPolicy,
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: options.tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  });
}
