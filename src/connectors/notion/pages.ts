// Reading Notion's paginated lists and page objects: `results` / `next_cursor` / `has_more`, titles and status values.
import { z } from 'zod';
import type { ProviderApi } from '../types.js';

/** Notion's largest page_size. */
export const NOTION_PAGE_SIZE = 100;

const listPage = z.object({
  object: z.literal('list'),
  results: z.array(z.looseObject({ object: z.string() })),
  next_cursor: z.string().nullable().optional(),
  has_more: z.boolean().default(false),
});

const richText = z.array(z.object({ plain_text: z.string().default('') }));
const property = z.looseObject({ type: z.string() });

export const notionPage = z.object({
  object: z.literal('page'),
  id: z.string().min(1),
  url: z.string().optional(),
  last_edited_time: z.iso.datetime({ offset: true }),
  in_trash: z.boolean().optional(),
  // Before API 2025-09-03 a trashed page was `archived`; both may appear.
  archived: z.boolean().optional(),
  properties: z.record(z.string(), property).default({}),
});
export type NotionPage = z.infer<typeof notionPage>;

/**
 * Walks a POST list endpoint (search, data source query) page by page, handing each batch of page objects
 * to `visit`, which answers false to stop early. At most `maxPages` requests: the caller states its bound.
 */
export async function walkPages(api: ProviderApi, path: string, body: Record<string, unknown>, maxPages: number, visit: (pages: NotionPage[]) => boolean): Promise<{ complete: boolean }> {
  let cursor: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const list = listPage.parse(await api.post(path, { ...body, page_size: NOTION_PAGE_SIZE, ...(cursor ? { start_cursor: cursor } : {}) }));
    const pages = list.results.filter((r) => r.object === 'page').map((r) => notionPage.parse(r));
    if (!visit(pages)) return { complete: true };
    cursor = list.has_more ? (list.next_cursor ?? undefined) : undefined;
    if (!cursor) return { complete: true };
  }
  return { complete: false };
}

export const isTrashed = (page: NotionPage) => Boolean(page.in_trash ?? page.archived);

/** A page's title: the text of its one `title` property (every page has one, possibly empty). */
export function titleOf(page: NotionPage): string {
  for (const value of Object.values(page.properties)) {
    if (value.type !== 'title') continue;
    const parsed = richText.safeParse(value.title);
    const text = parsed.success ? parsed.data.map((t) => t.plain_text).join('').trim() : '';
    return text || 'Untitled';
  }
  return 'Untitled';
}

const statusValue = z.object({ name: z.string() }).nullable().optional();

/**
 * The option a page has in a `status` or `select` property: a name, null when unset, or undefined when the
 * page has no such property or it is of another type (the caller says which).
 */
export function optionOf(page: NotionPage, name: string): { found: false; type?: string } | { found: true; value: string | null } {
  const value = page.properties[name];
  if (!value) return { found: false };
  if (value.type !== 'status' && value.type !== 'select') return { found: false, type: value.type };
  const option = statusValue.safeParse(value[value.type]);
  return { found: true, value: option.success ? (option.data?.name ?? null) : null };
}
