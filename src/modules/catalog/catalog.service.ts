// The integration catalog: what can be connected in this deployment, computed once from the registry and config.
import { z } from 'zod';
import type { Config } from '../../config.js';
import { isConfigured, isOAuthAvailable } from '../../connectors/endpoints.js';
import { connectors } from '../../connectors/index.js';
import { CATEGORIES, ROLES, oauth2Of, type Category, type ConnectorDefinition, type Role } from '../../connectors/types.js';
import { AppError } from '../../errors.js';
import type { CatalogItem } from './catalog.schemas.js';

export interface CatalogFilter {
  role?: Role;
  category?: Category;
}

export type CatalogService = ReturnType<typeof createCatalogService>;

export function createCatalogService(deps: { config: Pick<Config, 'providers'> }) {
  const items = connectors.map((c) => deepFreeze(toCatalogItem(c, deps.config)));
  const bySlug = new Map(items.map((item) => [item.slug, item]));

  // Every filter combination is answered from a list built here, so a request does no work.
  const lists = new Map<string, CatalogItem[]>();
  for (const role of [undefined, ...ROLES]) {
    for (const category of [undefined, ...CATEGORIES]) {
      const matching = items.filter(
        (item) => (!role || item.roles.includes(role)) && (!category || item.category === category),
      );
      Object.freeze(matching);
      lists.set(filterKey({ role, category }), matching);
    }
  }

  return {
    /** The returned array and items are frozen: every request shares them. */
    list(filter: CatalogFilter = {}): CatalogItem[] {
      return lists.get(filterKey(filter)) ?? [];
    },

    get(slug: string): CatalogItem {
      const item = bySlug.get(slug);
      if (!item) throw new AppError('integration_not_found', `No integration named '${slug}'`);
      return item;
    },
  };
}

function filterKey(filter: CatalogFilter): string {
  return `${filter.role ?? '*'}|${filter.category ?? '*'}`;
}

function toCatalogItem(connector: ConnectorDefinition, config: Pick<Config, 'providers'>): CatalogItem {
  const env = config.providers[connector.slug] ?? { extra: {} };
  const oauth = oauth2Of(connector);
  const item: CatalogItem = {
    slug: connector.slug,
    name: connector.name,
    category: connector.category,
    roles: [...connector.roles],
    authType: connector.auth.type,
    configured: isConfigured(connector, env),
    oauthAvailable: isOAuthAvailable(connector, env),
    scopes: [...(oauth?.scopes.default ?? [])],
    availableScopes: [...(oauth?.scopes.available ?? [])],
    docsUrl: connector.docsUrl,
    widgets: Object.entries(connector.widgets).map(([id, w]) => ({
      id,
      title: w.title,
      description: w.description,
      kind: w.kind,
      ttlSeconds: w.ttlSeconds,
      scopes: [...w.scopes],
      // The input side: what a caller sends (fields with defaults are optional).
      params: z.toJSONSchema(w.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    })),
  };
  if (connector.auth.type === 'apiKey') {
    item.credentialFields = connector.auth.fields.map((f) => ({
      name: f.name,
      label: f.label,
      secret: f.secret,
      ...(f.enum ? { enum: [...f.enum] } : {}),
      ...(f.optional ? { optional: true } : {}),
    }));
  }
  return item;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
