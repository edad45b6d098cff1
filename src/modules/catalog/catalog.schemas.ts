// The catalog's HTTP contract: query, params and responses; as Fastify response schemas they are also the filter.
import { z } from 'zod';
import { CATEGORIES, ROLES } from '../../connectors/types.js';

export const roleEnum = z.enum(ROLES);
export const categoryEnum = z.enum(CATEGORIES);

export const catalogWidget = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  kind: z.enum(['metric', 'list', 'timeseries', 'table']),
  ttlSeconds: z.number().int(),
  scopes: z.array(z.string()),
  /** JSON Schema of the widget's parameters. */
  params: z.record(z.string(), z.unknown()),
});

export const credentialField = z.object({
  name: z.string(),
  label: z.string(),
  /** Secret fields are write-only: never shown back to the user. */
  secret: z.boolean(),
  enum: z.array(z.string()).optional(),
  optional: z.boolean().optional(),
});

export const integrationItem = z.object({
  slug: z.string(),
  name: z.string(),
  category: categoryEnum,
  roles: z.array(roleEnum),
  authType: z.enum(['oauth2', 'apiKey']),
  /** Whether users can connect it in this deployment (an oauth2 connector needs its client id and secret). */
  configured: z.boolean(),
  /** Whether connecting runs an OAuth flow: configured oauth2 connectors, and Stripe when Connect is set up. */
  oauthAvailable: z.boolean(),
  /** Scopes requested by default. */
  scopes: z.array(z.string()),
  /** Every scope a caller may request on top of the defaults. */
  availableScopes: z.array(z.string()),
  docsUrl: z.string(),
  widgets: z.array(catalogWidget),
  /** What the user enters to connect an API-key integration. */
  credentialFields: z.array(credentialField).optional(),
});

export const catalogQuery = z.object({
  role: roleEnum.optional(),
  category: categoryEnum.optional(),
});

export const catalogParams = z.object({
  slug: z.string().regex(/^[a-z0-9-]{1,64}$/),
});

export const integrationListResponse = z.object({ integrations: z.array(integrationItem) });
export const integrationResponse = z.object({ integration: integrationItem });

export type CatalogItem = z.infer<typeof integrationItem>;
export type CatalogWidget = z.infer<typeof catalogWidget>;
export type CatalogQuery = z.infer<typeof catalogQuery>;
