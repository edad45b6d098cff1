// Notion widgets: what the team edited recently, and how the items of a tracker database split by status.
import { z } from 'zod';
import { AppError, ProviderError } from '../../errors.js';
import type { WidgetDefinition } from '../types.js';
import { isTrashed, optionOf, titleOf, walkPages, type NotionPage } from './pages.js';

/** Search is sorted newest first: 5 pages of 100 cover any window a dashboard asks for (500 edits). */
const SEARCH_MAX_PAGES = 5;
/** A status breakdown reads the whole data source: 10 pages of 100 items, then it counts what it has. */
const QUERY_MAX_PAGES = 10;

const NO_STATUS = '(no status)';

const recentParams = z.object({
  days: z.coerce.number().int().min(1).max(90).default(7),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const statusParams = z.object({
  // Notion ids are UUIDs, written with or without dashes.
  dataSourceId: z.string().regex(/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i, 'a Notion data source id (UUID)'),
  property: z.string().trim().min(1).max(100).default('Status'),
});

const badParam = (field: string, detail: string) => new AppError('validation_failed', detail, { fields: [{ path: `querystring.${field}`, message: detail }] });

export const widgets = {
  'recent-pages': {
    title: 'Recently edited pages',
    description: 'Pages shared with the hub, most recently edited first, over the last days.',
    kind: 'list',
    ttlSeconds: 300,
    // Notion has no OAuth scopes: the user chose the pages at consent.
    scopes: [],
    params: recentParams,
    async fetch({ params, api, now }) {
      const since = now.getTime() - params.days * 86_400_000;
      const recent: NotionPage[] = [];
      await walkPages(
        api,
        '/search',
        { filter: { property: 'object', value: 'page' }, sort: { timestamp: 'last_edited_time', direction: 'descending' } },
        SEARCH_MAX_PAGES,
        (pages) => {
          for (const page of pages) {
            if (Date.parse(page.last_edited_time) < since) return false;
            if (!isTrashed(page)) recent.push(page);
          }
          return true;
        },
      );
      return {
        items: recent.slice(0, params.limit).map((page) => ({
          id: page.id,
          title: titleOf(page).slice(0, 1000),
          ...(page.url && URL.canParse(page.url) ? { url: page.url } : {}),
          timestamp: new Date(page.last_edited_time).toISOString(),
        })),
        total: recent.length,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof recentParams>>,

  'items-by-status': {
    title: 'Items by status',
    description: 'How the items of a database (tasks, OKRs, projects) split across the values of its status or select property.',
    kind: 'table',
    ttlSeconds: 600,
    scopes: [],
    params: statusParams,
    async fetch({ params, api }) {
      const counts = new Map<string, number>();
      let items = 0;
      let withProperty = 0;
      let complete: boolean;
      try {
        ({ complete } = await walkPages(api, `/data_sources/${encodeURIComponent(params.dataSourceId)}/query`, {}, QUERY_MAX_PAGES, (pages) => {
          for (const page of pages) {
            items++;
            const option = optionOf(page, params.property);
            if (!option.found) {
              if (option.type) throw badParam('property', `"${params.property}" is a ${option.type} property, not a status or select.`);
              continue;
            }
            withProperty++;
            const name = option.value ?? NO_STATUS;
            counts.set(name, (counts.get(name) ?? 0) + 1);
          }
          return true;
        }));
      } catch (error) {
        // Notion answers 404 object_not_found both for an unknown id and for a database not shared with the hub.
        if (error instanceof ProviderError && error.status === 404) {
          throw badParam('dataSourceId', 'Notion has no data source with this id shared with the connection.');
        }
        throw error;
      }
      if (items > 0 && withProperty === 0) throw badParam('property', `The data source has no property named "${params.property}".`);
      const rows = [...counts.entries()]
        .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
        .map(([status, count]) => ({ status, count, share: Math.round((count / withProperty) * 1000) / 10 }));
      return {
        columns: [
          { key: 'status', label: params.property.slice(0, 200) },
          { key: 'count', label: complete ? 'Items' : `Items (first ${QUERY_MAX_PAGES * 100} read)` },
          { key: 'share', label: 'Share (%)' },
        ],
        rows,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof statusParams>>,
};
