/**
 * Tracing's settings, read once from the standard OpenTelemetry variables by the process that
 * serves (main.ts) and handed to the composition root as a plain object, so that several
 * servers in one process (the tests) can each be given their own.
 */

/** Which traces are kept (OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG). */
export type SamplerSetting =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number };

/** How spans are sent (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL). */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export const otlpProtocols: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

export interface TracingSettings {
  /** The OTLP transport; http/protobuf unless a variable says otherwise, as the specification's default. */
  protocol: OtlpProtocol;
  /**
   * Where spans are sent. http/protobuf and http/json: the traces URL (…/v1/traces). grpc: the
   * collector's target, http(s)://host:port (http: without TLS, https: with) or host:port (TLS
   * unless OTEL_EXPORTER_OTLP_INSECURE=true, which the exporter reads itself).
   */
  endpoint: string;
  /** Extra headers (gRPC metadata) of every export request (OTEL_EXPORTER_OTLP_HEADERS, …_TRACES_HEADERS). */
  headers: Record<string, string>;
  /** service.name of every span (OTEL_SERVICE_NAME; default "berth"). */
  serviceName: string;
  /** More resource attributes (OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes: Record<string, string>;
  sampler: SamplerSetting;
}

export interface TracingFromEnv {
  /** null: tracing is off. */
  settings: TracingSettings | null;
  /** Variables that were set but could not be honoured, to be logged at startup. */
  warnings: string[];
}

/** The specification's defaults: OTLP/HTTP's base URL (traces at …/v1/traces) and OTLP/gRPC's target. */
const defaultHttpEndpoint = 'http://localhost:4318';
const defaultGrpcEndpoint = 'http://localhost:4317';

/** The variable's value when it is set and not blank. */
function nonBlank(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** The signal's own variable wins over the general one; the specification's default is http/protobuf. */
function protocolFrom(env: NodeJS.ProcessEnv, warnings: string[]): OtlpProtocol {
  const own = nonBlank(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL);
  const name = own !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = own ?? nonBlank(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  if (value === undefined) return 'http/protobuf';
  const known = otlpProtocols.find((p) => p === value.toLowerCase());
  if (known) return known;
  warnings.push(`${name}: "${value}" is not supported (http/protobuf, http/json or grpc); http/protobuf is used`);
  return 'http/protobuf';
}

/**
 * gRPC metadata is stricter than HTTP headers: a key of lowercase letters, digits, `_`, `.` and
 * `-` (not a binary `-bin` one), a value of printable ASCII. A header that cannot be sent is
 * left out with a warning (naming its key, never its value) instead of failing the start.
 */
function grpcMetadata(headers: Record<string, string>, warnings: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (!/^[0-9a-z_.-]+$/.test(key) || key.endsWith('-bin') || !/^[ -~]*$/.test(value)) {
      warnings.push(
        `the OTLP header "${name}" cannot be sent as gRPC metadata (a key of letters, digits, _ . -, not ending in -bin; a value of printable ASCII); ignored`,
      );
      continue;
    }
    out[key] = value;
  }
  return out;
}

/**
 * The endpoint as the specification builds it. OTLP/HTTP: the signal's own variable is the full
 * URL, used as given; the general one is a base URL that gets /v1/traces appended. OTLP/gRPC:
 * either variable is the collector's target, used as given (no path is appended, and a path it
 * has is ignored by gRPC). null, with a warning: not an endpoint this protocol can use.
 */
function endpointFrom(protocol: OtlpProtocol, env: NodeJS.ProcessEnv, warnings: string[]): string | null {
  const tracesEndpoint = nonBlank(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const baseEndpoint = nonBlank(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (protocol === 'grpc') {
    const endpoint = tracesEndpoint ?? baseEndpoint ?? defaultGrpcEndpoint;
    // gRPC also takes a bare host:port (TLS unless OTEL_EXPORTER_OTLP_INSECURE=true).
    const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint);
    try {
      const url = new URL(hasScheme ? endpoint : `https://${endpoint}`);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      if (url.hostname === '') throw new Error('no host');
      if (url.pathname !== '/' && url.pathname !== '') {
        warnings.push(`the OTLP/gRPC endpoint "${endpoint}" has a path; gRPC ignores it and sends to ${url.host}`);
      }
    } catch {
      warnings.push(`the OTLP/gRPC endpoint "${endpoint}" is neither an http(s) URL nor host:port; tracing is off`);
      return null;
    }
    return endpoint;
  }
  const endpoint = tracesEndpoint ?? `${(baseEndpoint ?? defaultHttpEndpoint).replace(/\/+$/, '')}/v1/traces`;
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    warnings.push(`the OTLP endpoint "${endpoint}" is not an http(s) URL; tracing is off`);
    return null;
  }
  return endpoint;
}

/** `key=value,key2=value2` with percent-encoded values, as the OpenTelemetry variables write them. */
function keyValueList(text: string | undefined, name: string, warnings: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      warnings.push(`${name}: "${part.trim()}" is not key=value; ignored`);
      continue;
    }
    try {
      out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      warnings.push(`${name}: "${part.trim()}" is not percent-encoded correctly; ignored`);
    }
  }
  return out;
}

function samplerFrom(env: NodeJS.ProcessEnv, warnings: string[]): SamplerSetting {
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = () => {
    if (arg === undefined || arg === '') return 1;
    const n = Number(arg);
    if (Number.isFinite(n) && n >= 0 && n <= 1) return n;
    warnings.push(`OTEL_TRACES_SAMPLER_ARG: "${arg}" is not a ratio from 0 to 1; 1 is used`);
    return 1;
  };
  switch (name) {
    case '':
      return { kind: 'parentbased_always_on' };
    case 'always_on':
    case 'always_off':
    case 'parentbased_always_on':
    case 'parentbased_always_off':
      return { kind: name };
    case 'traceidratio':
    case 'parentbased_traceidratio':
      return { kind: name, ratio: ratio() };
    default:
      warnings.push(`OTEL_TRACES_SAMPLER: "${name}" is not supported; parentbased_always_on is used`);
      return { kind: 'parentbased_always_on' };
  }
}

/**
 * Tracing is on when OTEL_TRACES_EXPORTER is "otlp" or an OTLP endpoint variable is set, and
 * OTEL_SDK_DISABLED is not "true"; OTEL_TRACES_EXPORTER=none turns it off.
 */
export function tracingSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TracingFromEnv {
  const warnings: string[] = [];
  const off = { settings: null, warnings };
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return off;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  const tracesEndpoint = nonBlank(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const baseEndpoint = nonBlank(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (exporters.includes('none')) return off;
  if (!exporters.includes('otlp') && tracesEndpoint === undefined && baseEndpoint === undefined) return off;
  for (const e of exporters) if (e !== 'otlp') warnings.push(`OTEL_TRACES_EXPORTER: "${e}" is not supported; spans go to OTLP only`);
  const protocol = protocolFrom(env, warnings);
  const endpoint = endpointFrom(protocol, env, warnings);
  if (endpoint === null) return off;
  const headers = {
    ...keyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS', warnings),
    ...keyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', warnings),
  };
  return {
    settings: {
      protocol,
      endpoint,
      headers: protocol === 'grpc' ? grpcMetadata(headers, warnings) : headers,
      serviceName: env.OTEL_SERVICE_NAME?.trim() || 'berth',
      resourceAttributes: keyValueList(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES', warnings),
      sampler: samplerFrom(env, warnings),
    },
    warnings,
  };
}
