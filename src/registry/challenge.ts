import type { FastifyRequest } from 'fastify';
import { registryService } from '../auth/tokens.js';

/** Base URL clients reach us at: the configured external URL, else what the request says. */
export function baseUrl(req: FastifyRequest, externalUrl: string | undefined): string {
  return externalUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.host}`;
}

/** The `WWW-Authenticate` value that sends a registry client to the token service. */
export function bearerChallenge(req: FastifyRequest, externalUrl: string | undefined, scope?: string): string {
  const realm = `${baseUrl(req, externalUrl)}/service/token`;
  return `Bearer realm="${realm}",service="${registryService}"${scope ? `,scope="${scope}"` : ''}`;
}
