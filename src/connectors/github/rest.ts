// Reading GitHub's REST API for widgets: Link-header pagination to a bound, quota answers read as rate limits,
// and a repository GitHub does not show this connection answered as such rather than as an outage.
import { AppError, ProviderError } from '../../errors.js';
import type { ApiRequestOptions, ProviderApi } from '../types.js';

/** The URLs of a Link header (RFC 8288) by relation: `<https://…&page=2>; rel="next", <…>; rel="last"`. */
export function parseLinkHeader(header: string | null): Record<string, string> {
  const links: Record<string, string> = {};
  // Each link starts with `<`, which cannot appear inside a URL: commas in query strings do not split it.
  for (const part of (header ?? '').split('<').slice(1)) {
    const end = part.indexOf('>');
    const rel = /;\s*rel="?([^";]+)"?/.exec(part.slice(end + 1));
    if (end > 0 && rel) for (const name of rel[1]!.trim().split(/\s+/)) links[name] = part.slice(0, end);
  }
  return links;
}

/** The `page` number of a GitHub page URL, or undefined. */
export function pageNumberOf(url: string): number | undefined {
  const page = Number(new URL(url).searchParams.get('page'));
  return Number.isInteger(page) && page > 0 ? page : undefined;
}

/**
 * GitHub refuses an exhausted quota with 403 (or 429) and `x-ratelimit-remaining: 0`, and a secondary limit with
 * `Retry-After`: both are "wait", not a missing permission. The shared client read the wait from those headers.
 */
function asWidgetError(error: unknown, repo: string): unknown {
  if (!(error instanceof ProviderError)) return error;
  if (error.status === 403 && error.retryAfterSeconds !== undefined) {
    return new ProviderError('github', 429, 'rate_limited', 'GitHub rate limit reached', { retryAfterSeconds: error.retryAfterSeconds });
  }
  // GitHub answers 404 for a private repository the token cannot see, so as not to reveal that it exists.
  if (error.status === 404) return new AppError('not_found', `GitHub shows this connection no repository ${repo}.`);
  return error;
}

export interface PageWalk<T> {
  items: T[];
  /** False when the bound (or an exhausted quota) stopped the walk before the last page. */
  complete: boolean;
  /** The `rel="last"` link when the walk stopped early, to size the whole list. */
  lastPageUrl?: string;
}

/** GET `path` and its `rel="next"` pages, at most `maxPages` of them. */
export async function walkPages<T>(
  api: ProviderApi,
  repo: string,
  path: string,
  query: ApiRequestOptions['query'],
  readPage: (body: unknown) => T[],
  maxPages: number,
): Promise<PageWalk<T>> {
  const items: T[] = [];
  let url = path;
  let options: ApiRequestOptions = { query };
  for (let page = 0; page < maxPages; page++) {
    const response = await getPage(api, repo, url, options);
    items.push(...readPage(response.body));
    const links = parseLinkHeader(response.headers.get('link'));
    if (!links.next) return { items, complete: true };
    // The quota is spent: another call would be refused until the reset, so keep what is read.
    if (response.headers.get('x-ratelimit-remaining') === '0') return { items, complete: false };
    // GitHub's next link carries the whole query string.
    url = links.next;
    options = {};
    if (page === maxPages - 1) return { items, complete: false, ...(links.last ? { lastPageUrl: links.last } : {}) };
  }
  return { items, complete: false };
}

export async function getPage(api: ProviderApi, repo: string, path: string, options: ApiRequestOptions = {}) {
  try {
    return await api.request('GET', path, options);
  } catch (error) {
    throw asWidgetError(error, repo);
  }
}
