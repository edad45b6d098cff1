// Reading Microsoft Graph collections (`value` + `@odata.nextLink`) and its date-times, for the Teams widgets.
import { z } from 'zod';
import type { ApiRequestOptions, ProviderApi } from '../types.js';

const collection = z.object({ value: z.array(z.unknown()), '@odata.nextLink': z.string().optional() });

/**
 * Walks a Graph collection page by page, handing each page's items (parsed with `item`) to `visit`, which answers
 * false to stop. Next pages come from `@odata.nextLink`, an absolute URL on the Graph origin that already carries
 * the query; the headers are sent again. At most `maxPages` requests: the caller states its bound.
 */
export async function walkCollection<T>(
  api: ProviderApi,
  path: string,
  options: ApiRequestOptions,
  item: z.ZodType<T>,
  maxPages: number,
  visit: (items: T[]) => boolean,
): Promise<{ complete: boolean }> {
  let next: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const body = collection.parse(next ? await api.get(next, { headers: options.headers }) : await api.get(path, options));
    if (!visit(body.value.map((v) => item.parse(v)))) return { complete: true };
    next = body['@odata.nextLink'];
    if (!next) return { complete: true };
  }
  return { complete: false };
}

/** Asks Graph to express event times in UTC (it answers `dateTime` without an offset, plus a `timeZone`). */
export const UTC_TIMES = { prefer: 'outlook.timezone="UTC"' };

/** A Graph `dateTimeTimeZone` in UTC (as `UTC_TIMES` asks for): `2024-05-01T09:00:00.0000000`. */
export const graphUtcTime = z
  .object({ dateTime: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/), timeZone: z.literal('UTC') })
  .transform((t) => new Date(`${t.dateTime.slice(0, 23)}Z`));

export { startOfDay, timeZoneParam } from '../../lib/time-zone.js';
