/**
 * Tracing's settings, read once from the standard OpenTelemetry variables by the process that
 * serves (main.ts) and handed to the composition root as a plain object, so that several
 * servers in one process (the tests) can each be given their own.
 */

/** Which traces are kept (OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG). */
export type SamplerSetting =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number };

export interface TracingSettings {
  /** Where spans are sent: the OTLP/HTTP traces URL (…/v1/traces). */
  endpoint: string;
  /** Extra headers of every export request (OTEL_EXPORTER_OTLP_HEADERS, …_TRACES_HEADERS). */
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

const defaultEndpoint = 'http://localhost:4318';

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
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || undefined;
  const baseEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  if (exporters.includes('none')) return off;
  if (!exporters.includes('otlp') && tracesEndpoint === undefined && baseEndpoint === undefined) return off;
  for (const e of exporters) if (e !== 'otlp') warnings.push(`OTEL_TRACES_EXPORTER: "${e}" is not supported; spans go to OTLP only`);
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim();
  if (protocol !== '' && protocol !== 'http/json') {
    warnings.push(`OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported; spans are sent as http/json`);
  }
  // The signal's own endpoint is the full URL; the base one gets /v1/traces appended.
  const endpoint = tracesEndpoint ?? `${(baseEndpoint ?? defaultEndpoint).replace(/\/+$/, '')}/v1/traces`;
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    warnings.push(`the OTLP endpoint "${endpoint}" is not an http(s) URL; tracing is off`);
    return off;
  }
  return {
    settings: {
      endpoint,
      headers: {
        ...keyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS', warnings),
        ...keyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', warnings),
      },
      serviceName: env.OTEL_SERVICE_NAME?.trim() || 'berth',
      resourceAttributes: keyValueList(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES', warnings),
      sampler: samplerFrom(env, warnings),
    },
    warnings,
  };
}
