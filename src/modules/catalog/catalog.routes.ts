// HTTP for the public connector catalog: cacheable, no auth.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';
import { catalogQuery, integrationListResponse, integrationResponse } from './catalog.schemas.js';

const CACHE_CONTROL = 'public, max-age=60';

export function catalogRoutes(deps: Pick<Deps, 'catalog'>) {
  return async function register(app: FastifyInstance) {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/integrations', {
      schema: {
        tags: ['catalog'],
        summary: 'List available integrations',
        querystring: catalogQuery,
        response: { 200: integrationListResponse },
      },
    }, async (request, reply) => {
      void reply.header('cache-control', CACHE_CONTROL);
      return { integrations: deps.catalog.list(request.query) };
    });

    r.get('/integrations/:slug', {
      schema: {
        tags: ['catalog'],
        summary: 'Get integration details',
        params: z.object({ slug: z.string().min(1).max(64) }),
        response: { 200: integrationResponse },
      },
    }, async (request, reply) => {
      void reply.header('cache-control', CACHE_CONTROL);
      return { integration: deps.catalog.get(request.params.slug) };
    });
  };
}
