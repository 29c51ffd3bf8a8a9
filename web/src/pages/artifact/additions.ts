import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { artifactApi, keys } from '../repository/model';

export function additionQuery(project: string, repository: string, digest: string, name: string) {
  return {
    queryKey: keys.addition(project, repository, digest, name),
    queryFn: () => api.text(`${artifactApi(project, repository, digest)}/additions/${encodeURIComponent(name)}`),
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
