// Stripe list endpoints: `{ object: "list", data, has_more }`, paged forward with `starting_after=<last id>`.
import { z } from 'zod';
import type { ProviderApi } from '../types.js';

/** Stripe's largest page. */
export const STRIPE_PAGE_SIZE = 100;

/**
 * Every object of a list, newest first, following `has_more` for at most `maxPages` pages of 100;
 * `complete` is false when the bound cut the list short.
 */
export async function listAll<T extends { id: string }>(
  api: ProviderApi,
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  item: z.ZodType<T>,
  maxPages: number,
): Promise<{ items: T[]; complete: boolean }> {
  const page = z.object({ data: z.array(item), has_more: z.boolean() });
  const items: T[] = [];
  let startingAfter: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const answer = page.parse(await api.get(path, { query: { ...query, limit: STRIPE_PAGE_SIZE, starting_after: startingAfter } }));
    items.push(...answer.data);
    startingAfter = answer.data.at(-1)?.id;
    if (!answer.has_more || !startingAfter) return { items, complete: true };
  }
  return { items, complete: false };
}
