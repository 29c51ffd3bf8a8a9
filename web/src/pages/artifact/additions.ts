import { useQuery } from '@tanstack/react-query';
import { apiBase, ApiError } from '../../api/client';
import { artifactApi, keys } from '../repository/model';

/**
 * GET …/artifacts/{digest}/additions/{name}: JSON (build_history, dependencies, layers) or text
 * (values.yaml, readme.md), so read as text here; the API client parses only JSON.
 */
export async function additionText(path: string): Promise<string> {
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

/** One layer of an image manifest, as Berth's own `layers` addition gives it, in manifest order. */
export interface Layer {
  /** 0-based position in the manifest. */
  index?: number;
  digest: string;
  media_type: string;
  size: number;
}

/** A JSON addition that is a list (build_history, dependencies, layers), loaded once and parsed. */
export function useAdditionList<T>(project: string, repository: string, digest: string, name: string) {
  return useQuery({ ...additionQuery(project, repository, digest, name), select: (text: string) => parseList<T>(text) });
}

/** A JSON addition (build_history, dependencies, layers): a list. */
export function parseList<T>(text: string | undefined): T[] {
  if (!text) return [];
  const value = JSON.parse(text) as unknown;
  return Array.isArray(value) ? (value as T[]) : [];
}
