import type { TestServer } from './server.js';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls /api/v2.0 with JSON in and out. `auth` is an Authorization header value (omit for anonymous). */
export async function api<T = any>(
  server: TestServer,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = options.auth;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${server.url}/api/v2.0${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Creates a user as admin and returns its id. */
export async function createUser(server: TestServer, username: string, password = 'Passw0rd1'): Promise<number> {
  const res = await api(server, 'POST', '/users', {
    auth: server.admin.authorization,
    body: { username, password, email: `${username}@example.com`, realname: username },
  });
  if (res.status !== 201) throw new Error(`creating ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

export function errorCode(res: ApiResponse): string | undefined {
  return (res.body as { errors?: Array<{ code: string }> })?.errors?.[0]?.code;
}
