// Jira's enhanced JQL search for widgets: `POST /rest/api/3/search/jql` paged by `nextPageToken` to a bound, the
// approximate count beside it, and Jira's refusals of a query or a board answered as such, not as an outage.
import { z } from 'zod';
import { AppError, ProviderError } from '../../errors.js';
import type { ProviderApi } from '../types.js';

/** Jira answers at most 100 issues a page when fields are asked for. */
const PAGE_SIZE = 100;

const searchPage = z.object({
  issues: z.array(z.object({ id: z.string(), key: z.string(), fields: z.record(z.string(), z.unknown()).default({}) })).default([]),
  nextPageToken: z.string().nullish(),
  isLast: z.boolean().optional(),
});
export type FoundIssue = z.infer<typeof searchPage>['issues'][number];

/** Calls Jira, turning its 400 (a project or value the query names does not exist) and 404 into the hub's answers. */
export async function callJira<T>(call: () => Promise<T>, what: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ProviderError && error.status === 400) throw new AppError('bad_request', `Jira refused the query for ${what}: check the parameters.`);
    if (error instanceof ProviderError && error.status === 404) throw new AppError('not_found', `Jira shows this connection no ${what}.`);
    throw error;
  }
}

/** Issues matching `jql` with only `fields`, following nextPageToken for at most `maxPages` pages of 100. */
export async function searchIssues(api: ProviderApi, jql: string, fields: string[], maxPages: number, what: string): Promise<{ issues: FoundIssue[]; complete: boolean }> {
  const issues: FoundIssue[] = [];
  let nextPageToken: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const body = { jql, fields, maxResults: PAGE_SIZE, ...(nextPageToken ? { nextPageToken } : {}) };
    const answer = searchPage.parse(await callJira(() => api.post('/rest/api/3/search/jql', body), what));
    issues.push(...answer.issues);
    nextPageToken = answer.nextPageToken ?? undefined;
    if (!nextPageToken || answer.isLast === true) return { issues, complete: true };
  }
  return { issues, complete: false };
}

/** Jira's fast estimate of how many issues match `jql` (recent changes may be missing from it). */
export async function approximateCount(api: ProviderApi, jql: string, what: string): Promise<number> {
  const answer = z.object({ count: z.number().int().nonnegative() }).parse(await callJira(() => api.post('/rest/api/3/search/approximate-count', { jql }), what));
  return answer.count;
}
