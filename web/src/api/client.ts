// The portal's only way to the server: Berth's public API under /api/v2.0 and /c/login.
// A signed-in browser carries the session cookie; every answer to it echoes the session's
// CSRF token, which unsafe requests must send back.

export const apiBase = '/api/v2.0';
const csrfHeader = 'X-Harbor-CSRF-Token';
let csrfToken: string | null = null;

/** An API error, with the message the server gave in Harbor's `{errors:[…]}` shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface ListParams {
  page: number;
  pageSize: number;
  q?: string;
  sort?: string;
  [extra: string]: string | number | boolean | undefined;
}

type Query = Record<string, string | number | boolean | undefined>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    params.set(key === 'pageSize' ? 'page_size' : key, String(value));
  }
  const text = params.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `the server answered ${res.status}`;
  try {
    const body = await res.json();
    const first = body?.errors?.[0];
    if (first) {
      code = first.code ?? code;
      message = first.message ?? message;
    }
  } catch {
    // not JSON: keep the status text
  }
  if (res.status === 401) message = message || 'sign in first';
  return new ApiError(res.status, code, message);
}

async function send(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) (init.headers as Record<string, string>)[csrfHeader] = csrfToken;
  if (body !== undefined) {
    if (body instanceof URLSearchParams) init.body = body;
    else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    }
  }
  const res = await fetch(url, init);
  const token = res.headers.get(csrfHeader);
  if (token) csrfToken = token;
  if (!res.ok) throw await errorOf(res);
  return res;
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  async get<T>(path: string, query?: Query): Promise<T> {
    return json<T>(await send('GET', apiBase + withQuery(path, query)));
  },
  /** A list endpoint: one page and the X-Total-Count the server gives with it. */
  async list<T>(path: string, params: ListParams): Promise<Page<T>> {
    const res = await send('GET', apiBase + withQuery(path, params));
    const items = (await json<T[]>(res)) ?? [];
    const total = Number(res.headers.get('X-Total-Count') ?? items.length);
    return { items, total };
  },
  async post<T = void>(path: string, body?: unknown, query?: Query): Promise<{ data: T; location: string | null }> {
    const res = await send('POST', apiBase + withQuery(path, query), body ?? {});
    return { data: await json<T>(res), location: res.headers.get('Location') };
  },
  async put<T = void>(path: string, body?: unknown): Promise<T> {
    return json<T>(await send('PUT', apiBase + path, body ?? {}));
  },
  async patch<T = void>(path: string, body?: unknown): Promise<T> {
    return json<T>(await send('PATCH', apiBase + path, body ?? {}));
  },
  async delete(path: string): Promise<void> {
    await send('DELETE', apiBase + path);
  },
  /** A GET whose answer may be text (values.yaml, readme.md, logs) or JSON: the body as sent, errors as for JSON. */
  async text(path: string, headers: Record<string, string> = {}): Promise<string> {
    return (await send('GET', apiBase + path, undefined, { Accept: 'application/json, text/plain, text/markdown', ...headers })).text();
  },
  async signIn(principal: string, password: string): Promise<void> {
    await send('POST', '/c/login', new URLSearchParams({ principal, password }));
  },
  /** Completes a first OIDC sign-in with the username the user chose; sets the session. */
  async oidcOnboard(username: string): Promise<void> {
    await send('POST', '/c/oidc/onboard', { username });
  },
  async signOut(): Promise<void> {
    await send('GET', '/c/log_out');
    csrfToken = null;
  },
};

/** A path segment: repository names hold slashes, which Harbor's API wants encoded twice. */
export function repoSegment(name: string): string {
  return encodeURIComponent(encodeURIComponent(name));
}

export function segment(value: string | number): string {
  return encodeURIComponent(String(value));
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
