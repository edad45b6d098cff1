// Reading Datadog's API for widgets: the web app's host for a site (links), page walks that stop where the
// per-endpoint quota runs out, and a query Datadog refuses answered as such, not as an outage.
import { AppError, ProviderError } from '../../errors.js';
import type { ApiRequestOptions, ProviderApi } from '../types.js';

/** The web app of a site: `app.` before the US1, EU1 and US1-FED domains, the site itself elsewhere (us3, ap1 …). */
export function appUrlOf(site: string | undefined): string {
  const host = site ?? 'datadoghq.com';
  return `https://${host.split('.').length === 2 ? `app.${host}` : host}`;
}

/** One GET; `{"errors":["…"]}` with 400 means the query the widget built from its params is not valid. */
export async function getPage(api: ProviderApi, path: string, options: ApiRequestOptions) {
  try {
    return await api.request('GET', path, options);
  } catch (error) {
    if (error instanceof ProviderError && error.status === 400) throw new AppError('bad_request', 'Datadog refused the query: check the parameters.');
    throw error;
  }
}

/** Whether another call now would be refused: Datadog counts per endpoint and says what is left. */
export const quotaSpent = (headers: Headers) => headers.get('x-ratelimit-remaining') === '0';
