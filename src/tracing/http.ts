import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { registryRoute } from '../metrics/routes.js';

const spans = new WeakMap<FastifyRequest, Span>();

/** W3C Trace Context: version 00 (later versions are read as 00, as the spec asks). */
const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The caller's trace, from its `traceparent` header (and `tracestate`), or the root context. */
export function incomingContext(headers: Record<string, string | string[] | undefined>) {
  const header = headers.traceparent;
  const match = typeof header === 'string' ? traceparentPattern.exec(header.trim()) : null;
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return ROOT_CONTEXT;
  const [, , traceId, spanId, flags] = match;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16) & 1, isRemote: true });
}

/** The trace id of the request's span, for its log lines; undefined when the request is not traced. */
export function traceIdOf(req: FastifyRequest): string | undefined {
  return spans.get(req)?.spanContext().traceId;
}

/**
 * One server span per request, named "METHOD route" (the route's pattern, not the URL), with
 * the HTTP semantic-convention attributes; a caller's `traceparent` is continued. The span is
 * the active context of the request's hooks and handler, so database and blob store spans
 * are its children.
 */
export function registerHttpTracing(app: FastifyInstance, tracer: Tracer): void {
  app.addHook('onRequest', (req, reply, done) => {
    const pattern = req.routeOptions.url;
    // The registry's paths are one wildcard route (repository names hold slashes): named by the
    // distribution spec's endpoint instead, as the metrics name them (/v2/:name/manifests/:reference).
    const route = pattern === '/v2/*' || pattern === '/v2' ? registryRoute(req.url) : pattern;
    const host = req.host;
    const colon = host.lastIndexOf(':');
    const span = tracer.startSpan(
      route ? `${req.method} ${route}` : req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: req.url.split('?', 1)[0],
          [ATTR_URL_SCHEME]: req.protocol,
          [ATTR_SERVER_ADDRESS]: colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host,
          ...(colon > 0 && !host.endsWith(']') ? { [ATTR_SERVER_PORT]: Number(host.slice(colon + 1)) } : {}),
          [ATTR_NETWORK_PROTOCOL_VERSION]: req.raw.httpVersion,
          [ATTR_CLIENT_ADDRESS]: req.ip,
          ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
          ...(req.headers['user-agent'] ? { [ATTR_USER_AGENT_ORIGINAL]: req.headers['user-agent'] } : {}),
          'http.request.header.x-request-id': [req.id],
        },
      },
      incomingContext(req.headers),
    );
    spans.set(req, span);
    context.with(trace.setSpan(context.active(), span), done);
  });
  // Body parsing may continue in the socket's context: the handler gets the span again.
  app.addHook('preHandler', (req, reply, done) => {
    const span = spans.get(req);
    if (span) context.with(trace.setSpan(context.active(), span), done);
    else done();
  });
  app.addHook('onError', async (req, reply, err) => {
    const span = spans.get(req);
    const status = (err as { statusCode?: unknown }).statusCode;
    // Errors answered 4xx are the client's; others are recorded with the exception.
    if (!span || (typeof status === 'number' && status < 500)) return;
    span.recordException(err);
    span.setAttribute(ATTR_ERROR_TYPE, err.name || 'Error');
  });
  app.addHook('onResponse', async (req, reply) => {
    const span = spans.get(req);
    // Not recording: not sampled, or already ended by an abort.
    if (!span?.isRecording()) return;
    const status = reply.statusCode;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    // A server span is an error on 5xx only: a 4xx is the client's.
    if (status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  });
  app.addHook('onRequestAbort', async (req) => {
    const span = spans.get(req);
    if (!span?.isRecording()) return;
    span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection' });
    span.end();
  });
}
