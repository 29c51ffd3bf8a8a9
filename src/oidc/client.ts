import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import * as oidc from 'openid-client';

/** What talking to a provider takes: its issuer and this client's credentials. */
export interface ProviderConnection {
  endpoint: string;
  clientId: string;
  clientSecret: string;
  verifyCert: boolean;
}

/** http:// is accepted for a provider on this machine only (127.0.0.1, ::1, localhost), as /configurations allows. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

/** Why an issuer URL cannot be used, or null. */
export function endpointProblem(endpoint: string): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `"${endpoint}" is not a URL`;
  }
  if (url.protocol === 'https:' || isLoopbackHttp(url)) return null;
  return `the OIDC endpoint must be an https:// URL (http:// only for a provider on this machine), not "${endpoint}"`;
}

/**
 * fetch for oidc_verify_cert off: Node's fetch cannot skip certificate checks per request,
 * so the request goes through node:https with rejectUnauthorized false.
 */
const unverifiedFetch: oidc.CustomFetch = (url, options) =>
  new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: options.method, headers: options.headers, rejectUnauthorized: false, signal: options.signal },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) headers.append(name, v);
            else if (value !== undefined) headers.set(name, value);
          }
          const status = res.statusCode ?? 500;
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers }));
        });
      },
    );
    req.on('error', reject);
    const body = options.body;
    if (body === undefined || body === null) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else if (body instanceof URLSearchParams) req.end(body.toString());
    else if (body instanceof ArrayBuffer) req.end(Buffer.from(body));
    else reject(new Error('unsupported request body for an OIDC provider request'));
  });

const discoveryTimeoutSeconds = 10;

/** Reads the provider's discovery document (no client credentials: /system/oidc/ping and the first step of `connect`). */
export async function discoverProvider(endpoint: string, verifyCert: boolean, clientId = 'berth'): Promise<oidc.Configuration> {
  const problem = endpointProblem(endpoint);
  if (problem) throw new Error(problem);
  const url = new URL(endpoint);
  const options: oidc.DiscoveryRequestOptions = {
    timeout: discoveryTimeoutSeconds,
    execute: isLoopbackHttp(url) ? [oidc.allowInsecureRequests] : [],
  };
  if (!verifyCert) options[oidc.customFetch] = unverifiedFetch;
  return oidc.discovery(url, clientId, undefined, oidc.None(), options);
}

/**
 * The client of one provider: discovery, then the client authentication the provider offers
 * (client_secret_basic, the default of the spec, else client_secret_post), ID tokens' signatures
 * checked even on the token endpoint's answers (they may come over an unverified connection).
 */
async function connect(connection: ProviderConnection): Promise<oidc.Configuration> {
  const discovered = await discoverProvider(connection.endpoint, connection.verifyCert, connection.clientId);
  const metadata = discovered.serverMetadata();
  const methods = metadata.token_endpoint_auth_methods_supported;
  const auth =
    !methods || methods.includes('client_secret_basic') || !methods.includes('client_secret_post')
      ? oidc.ClientSecretBasic(connection.clientSecret)
      : oidc.ClientSecretPost(connection.clientSecret);
  const config = new oidc.Configuration(metadata, connection.clientId, { client_secret: connection.clientSecret }, auth);
  config.timeout = discoveryTimeoutSeconds;
  if (isLoopbackHttp(new URL(connection.endpoint))) oidc.allowInsecureRequests(config);
  if (!connection.verifyCert) config[oidc.customFetch] = unverifiedFetch;
  if (metadata.jwks_uri) oidc.enableNonRepudiationChecks(config);
  return config;
}

/** Connections by their settings: a changed setting makes a new one; failed discoveries are not kept. */
export class ProviderClients {
  private readonly cache = new Map<string, Promise<oidc.Configuration>>();

  get(connection: ProviderConnection): Promise<oidc.Configuration> {
    if (connection.endpoint === '' || connection.clientId === '') {
      return Promise.reject(new Error('OIDC is not configured: oidc_endpoint and oidc_client_id are required'));
    }
    const key = JSON.stringify([connection.endpoint, connection.clientId, connection.clientSecret, connection.verifyCert]);
    let config = this.cache.get(key);
    if (!config) {
      // Only the current settings' client is worth keeping.
      this.cache.clear();
      config = connect(connection);
      this.cache.set(key, config);
      config.catch(() => {
        if (this.cache.get(key) === config) this.cache.delete(key);
      });
    }
    return config;
  }
}
