// HTTP for widget data: query string = widget params, ETag + 304, Cache-Control from the value's freshness.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';
import { connectionParams } from '../connections/connection.schemas.js';

const widgetAnswer = z
  .object({
    widgetId: z.string(),
    integrationId: z.string(),
    kind: z.enum(['metric', 'list', 'timeseries', 'table']),
    data: z.unknown(),
    fetchedAt: z.string(),
    expiresAt: z.string(),
    stale: z.boolean(),
    source: z.enum(['cache', 'provider']),
  })
  .meta({ id: 'WidgetData' });

export function widgetRoutes(deps: Pick<Deps, 'widgets'>) {
  return async function register(app: FastifyInstance) {
    app.withTypeProvider<ZodTypeProvider>().get('/integrations/:integrationId/widgets/:widgetId/data', {
      schema: {
        tags: ['widgets'],
        summary: "A widget's data (query string = the widget's params; refresh=true forces a provider fetch, rate limited)",
        security: [{ bearer: [] }],
        params: connectionParams.extend({ widgetId: z.string().min(1).max(100) }),
        querystring: z.record(z.string().max(100), z.string().max(2000)),
        response: { 200: widgetAnswer, 304: z.null() },
      },
    }, async (request, reply) => {
      const { refresh, ...params } = request.query;
      const result = await deps.widgets.getData(request.params.workspaceId, request.params.integrationId, request.params.widgetId, params, {
        refresh: refresh === 'true' || refresh === '1',
      });
      const etag = `W/"${createHash('sha256').update(`${result.integrationId}|${result.widgetId}|${JSON.stringify(params)}|${result.fetchedAt}|${result.stale}`).digest('base64url').slice(0, 27)}"`;
      const maxAge = result.stale ? 0 : Math.max(0, Math.floor((Date.parse(result.expiresAt) - Date.now()) / 1000));
      void reply.header('etag', etag).header('cache-control', `private, max-age=${maxAge}`);
      const presented = request.headers['if-none-match'];
      if (presented && presented.split(',').map((t) => t.trim()).includes(etag)) return reply.code(304).send(null);
      return result;
    });
  };
}
