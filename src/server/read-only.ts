import type { FastifyInstance, FastifyRequest } from 'fastify';
import { safeMethods } from '../http/request.js';
import { ociError } from '../lib/errors.js';
import type { SettingsReader } from '../settings/settings.js';

/** Harbor's words for a change refused in read-only mode. */
export const readOnlyMessage = 'The system is in read only mode. Any modification is prohibited.';

/**
 * Changes that go on in read-only mode, as Harbor lets them: switching the mode off, signing
 * in and out, OIDC onboarding, registry tokens (some clients POST for them), and the scanner
 * adapter Berth serves, which stands for a scanner outside the registry.
 */
const exempt: Array<[method: string, path: RegExp]> = [
  ['PUT', /^\/api\/v2\.0\/configurations\/?$/],
  ['POST', /^\/c\/login\/?$/],
  ['POST', /^\/c\/oidc\/onboard\/?$/],
  ['*', /^\/c\/log_out\/?$/],
  ['*', /^\/service\/token\/?$/],
  ['*', /^\/scanner\//],
];

function isExempt(req: FastifyRequest): boolean {
  const path = req.url.split('?', 1)[0]!;
  return exempt.some(([method, pattern]) => (method === '*' || method === req.method) && pattern.test(path));
}

/** Read-only mode (the read_only setting): every change refused with Harbor's answer, reads go on. */
export function registerReadOnly(app: FastifyInstance, settings: SettingsReader): void {
  app.addHook('onRequest', async (req) => {
    if (safeMethods.has(req.method) || !settings.current().read_only || isExempt(req)) return;
    // DENIED with the same message on /v2 (an OCI error) and on the API (Harbor's error body).
    throw ociError('DENIED', readOnlyMessage);
  });
}
