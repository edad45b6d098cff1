// Reading GitLab's REST API for widgets: offset pagination through `x-next-page` to a bound, the quota read from
// `RateLimit-Remaining`, and a project GitLab does not show this connection answered as such, not as an outage.
import { z } from 'zod';
import { AppError, ProviderError } from '../../errors.js';
import type { ApiRequestOptions, ProviderApi } from '../types.js';

/** A project as its numeric id or its full path (`group/subgroup/project`), as the API takes either. */
export const projectParam = z
  .string()
  .max(255)
  // Segments never start with a dot, so `.` and `..` cannot walk out of /projects.
  .regex(/^(\d{1,12}|[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+)$/, 'a project id or full path (group/project)');

/** The project's API path: a full path is one URL-encoded segment (`group%2Fproject`). */
export const projectPath = (project: string) => `/projects/${encodeURIComponent(project)}`;

export interface PageWalk<T> {
  items: T[];
  /** False when the bound (or a spent quota) stopped the walk before the last page. */
  complete: boolean;
  /** `x-total` of the first page; GitLab leaves it out past 10,000 rows. */
  total?: number;
}

/** GET `path` page by page (`page`/`per_page`), following `x-next-page`, at most `maxPages` pages. */
export async function walkPages<T>(
  api: ProviderApi,
  project: string,
  path: string,
  query: NonNullable<ApiRequestOptions['query']>,
  readPage: (body: unknown) => T[],
  maxPages: number,
): Promise<PageWalk<T>> {
  const items: T[] = [];
  let total: number | undefined;
  let page = 1;
  for (let n = 0; n < maxPages; n++) {
    const response = await getPage(api, project, path, { query: { ...query, page } });
    items.push(...readPage(response.body));
    const header = Number(response.headers.get('x-total') ?? Number.NaN);
    if (n === 0 && Number.isInteger(header)) total = header;
    const next = Number(response.headers.get('x-next-page') || Number.NaN);
    if (!Number.isInteger(next) || next <= page) return { items, complete: true, total };
    // The quota is spent: another call would be refused until the reset, so keep what is read.
    if (response.headers.get('ratelimit-remaining') === '0') break;
    page = next;
  }
  return { items, complete: false, total };
}

async function getPage(api: ProviderApi, project: string, path: string, options: ApiRequestOptions) {
  try {
    return await api.request('GET', path, options);
  } catch (error) {
    // `{"message":"404 Project Not Found"}`: missing, or private and out of this user's reach.
    if (error instanceof ProviderError && error.status === 404) throw new AppError('not_found', `GitLab shows this connection no project ${project}.`);
    throw error;
  }
}
