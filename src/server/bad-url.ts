import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorHandler } from './errors.js';

/**
 * Fastify's `frameworkErrors`: a URL the router cannot read (a bad percent-escape such as
 * `%ff`, a path parameter longer than `maxParamLength`) is refused before any route runs, and
 * Fastify answered it with its own body. It goes through the error handler instead, so that
 * the client gets the error body of the protocol it spoke (OCI's on /v2, Harbor's elsewhere).
 */
export function frameworkErrors(externalUrl: string | undefined) {
  const handle = errorHandler(externalUrl);
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    handle(err, req, reply);
  };
}
