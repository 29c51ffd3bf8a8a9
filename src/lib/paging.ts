import { apiError } from './errors.js';

export const maxPageSize = 100;

export interface Paging {
  page: number;
  pageSize: number;
  offset: number;
}

function positiveInt(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw apiError('BAD_REQUEST', `${name} must be a positive integer, not "${String(raw)}"`);
  return n;
}

/** Harbor's paging: `page` from 1, `page_size` default 10, at most 100. */
export function parsePaging(query: Record<string, unknown>, defaultSize = 10): Paging {
  const page = positiveInt('page', query.page, 1);
  const pageSize = positiveInt('page_size', query.page_size, defaultSize);
  if (pageSize > maxPageSize) throw apiError('BAD_REQUEST', `page_size must be at most ${maxPageSize}`);
  return { page, pageSize, offset: (page - 1) * pageSize };
}

/** The `Link` header Harbor sends: prev and next pages of the same request. */
export function pagingLink(path: string, query: Record<string, unknown>, paging: Paging, total: number): string | undefined {
  const links: string[] = [];
  const make = (page: number) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && k !== 'page' && k !== 'page_size') params.set(k, String(v));
    params.set('page', String(page));
    params.set('page_size', String(paging.pageSize));
    return `<${path}?${params.toString()}>`;
  };
  if (paging.page > 1) links.push(`${make(paging.page - 1)}; rel="prev"`);
  if (paging.offset + paging.pageSize < total) links.push(`${make(paging.page + 1)}; rel="next"`);
  return links.length > 0 ? links.join(' , ') : undefined;
}
