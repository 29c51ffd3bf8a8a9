import { useQuery } from '@tanstack/react-query';
import { apiBase, ApiError } from '../../api/client';
import { artifactApi, keys } from '../repository/model';

/**
 * GET …/artifacts/{digest}/additions/{name}: JSON (build_history, dependencies) or text
 * (values.yaml, readme.md), so read as text here; the API client parses only JSON.
 */
async function additionText(path: string): Promise<string> {
  const res = await fetch(apiBase + path, {
    credentials: 'same-origin',
    headers: { Accept: 'application/json, text/plain, text/markdown' },
  });
  const text = await res.text();
  if (!res.ok) {
    let message = res.statusText || `the server answered ${res.status}`;
    let code = `HTTP_${res.status}`;
    try {
      const first = JSON.parse(text)?.errors?.[0];
      if (first) {
        message = first.message ?? message;
        code = first.code ?? code;
      }
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(res.status, code, message);
  }
  return text;
}

export function additionQuery(project: string, repository: string, digest: string, name: string) {
  return {
    queryKey: keys.addition(project, repository, digest, name),
    queryFn: () => additionText(`${artifactApi(project, repository, digest)}/additions/${encodeURIComponent(name)}`),
    // An artifact's content never changes under its digest.
    staleTime: Infinity,
  };
}

export function useAdditionText(project: string, repository: string, digest: string, name: string) {
  return useQuery(additionQuery(project, repository, digest, name));
}

/** A JSON addition (build_history, dependencies): a list. */
export function parseList<T>(text: string | undefined): T[] {
  if (!text) return [];
  const value = JSON.parse(text) as unknown;
  return Array.isArray(value) ? (value as T[]) : [];
}
