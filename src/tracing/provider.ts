import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, type Context, type ContextManager, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { SamplerSetting, TracingSettings } from './settings.js';

/** A server's tracing when it is on: its tracer, and the flush of what is still buffered. */
export interface Tracing {
  tracer: Tracer;
  /** Sends the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * The active span follows the request through every await: AsyncLocalStorage, as the
 * OpenTelemetry Node.js context manager keeps it. Set once per process, when the first
 * traced server starts; without it (tracing off) the API's context is the no-op one.
 */
class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

let contextManagerSet = false;

function sampler(setting: SamplerSetting): Sampler {
  switch (setting.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(setting.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(setting.ratio) });
  }
}

/**
 * The exporter of the settings' protocol, the official OpenTelemetry one, loaded only now: a
 * Berth without tracing loads none, and only a grpc one loads gRPC (@grpc/grpc-js).
 */
async function exporter(settings: TracingSettings): Promise<SpanExporter> {
  switch (settings.protocol) {
    case 'http/protobuf': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
      return new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers });
    }
    case 'http/json': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      return new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers });
    }
    case 'grpc': {
      const [{ OTLPTraceExporter }, { Metadata }] = await Promise.all([
        import('@opentelemetry/exporter-trace-otlp-grpc'),
        import('@grpc/grpc-js'),
      ]);
      // The headers travel as gRPC metadata; an http:// endpoint is plain text, https:// is TLS.
      const metadata = new Metadata();
      for (const [key, value] of Object.entries(settings.headers)) metadata.set(key, value);
      return new OTLPTraceExporter({ url: settings.endpoint, metadata });
    }
  }
}

/**
 * Starts exporting spans as the settings say: OTLP over HTTP (protobuf or JSON) or gRPC,
 * batched. The provider is this server's own, not registered globally: the server's parts are
 * handed its tracer.
 */
export async function startTracing(settings: TracingSettings, options: { version: string }): Promise<Tracing> {
  const spanExporter = await exporter(settings);
  if (!contextManagerSet) {
    context.setGlobalContextManager(new AsyncLocalContextManager());
    contextManagerSet = true;
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      ...settings.resourceAttributes,
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: options.version,
    }),
    sampler: sampler(settings.sampler),
    spanProcessors: [new BatchSpanProcessor(spanExporter)],
  });
  return {
    tracer: provider.getTracer('berth', options.version),
    shutdown: () => provider.shutdown(),
  };
}
