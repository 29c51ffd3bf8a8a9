import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { registerRegistryRoutes, type RegistryRouteDeps } from '../registry/routes.js';
import { errorHandler } from './errors.js';

export interface HttpDeps extends RegistryRouteDeps {
  logger: Logger;
  accessLog: boolean;
}

/** Assembles the HTTP server from every feature's routes. */
export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by one access line (log.access).
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    // Large blobs stream for as long as they need; idle sockets are still closed.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreDuplicateSlashes: true },
  });
  app.setErrorHandler(errorHandler);
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('docker-distribution-api-version', 'registry/2.0');
    return payload;
  });
  if (deps.accessLog) {
    app.addHook('onResponse', async (req, reply) => {
      req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    });
  }
  await registerRegistryRoutes(app, deps);
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ errors: [{ code: 'NOT_FOUND', message: `nothing at ${req.method} ${req.url}` }] });
  });
  return app;
}
