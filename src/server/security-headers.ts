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
 * The security headers of every answer: the CSP above, X-Frame-Options: DENY,
 * X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, the cross-origin isolation
 * headers, and Strict-Transport-Security when clients reach Berth over TLS (`tls`: the
 * external URL is https; browsers ignore HSTS on plain http anyway, but a registry reached
 * over http must not tell them to insist on https). The values helmet's defaults give, with
 * the policy above; computed once, because building them per request (as @fastify/helmet
 * does) cost several per cent of a manifest GET.
 */
export function securityHeaders(options: { tls: boolean }): Record<string, string> {
  const directives: Record<string, string[]> = options.tls
    ? { ...contentSecurityPolicy, 'upgrade-insecure-requests': [] }
    : contentSecurityPolicy;
  return {
    'content-security-policy': Object.entries(directives)
      .map(([name, values]) => [name, ...values].join(' '))
      .join(';'),
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    ...(options.tls && { 'strict-transport-security': 'max-age=31536000' }),
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
  };
}

/** Sets the security headers on every answer, before any handler runs (a handler may still change one). */
export async function registerSecurityHeaders(app: FastifyInstance, options: { tls: boolean }): Promise<void> {
  const headers = securityHeaders(options);
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(headers);
    done();
  });
}
