// HTTP for syncs: start one (202, de-duplicated while pending) and poll it.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';
import { connectionParams } from '../connections/connection.schemas.js';

const syncView = z
  .object({
    syncId: z.string(),
    integrationId: z.string(),
    trigger: z.enum(['manual', 'schedule', 'webhook']),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    widgetsTotal: z.number(),
    widgetsRefreshed: z.number(),
    widgetsFailed: z.number(),
    error: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Sync' });

export function syncRoutes(deps: Pick<Deps, 'sync'>) {
  return async function register(app: FastifyInstance) {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const security = [{ bearer: [] }];

    r.post('/integrations/:integrationId/sync', {
      schema: {
        tags: ['sync'],
        summary: 'Refresh every recently read widget of the connection in the background',
        security,
        params: connectionParams,
        response: { 202: z.object({ syncId: z.string(), status: z.enum(['queued', 'running', 'succeeded', 'failed']) }) },
      },
    }, async (request, reply) => {
      const run = await deps.sync.start(request.params.workspaceId, request.params.integrationId);
      return reply.code(202).send({ syncId: run.syncId, status: run.status });
    });

    r.get('/integrations/:integrationId/syncs/:syncId', {
      schema: {
        tags: ['sync'],
        summary: 'A sync: status, counts, timings and error',
        security,
        params: connectionParams.extend({ syncId: z.string().min(1).max(64) }),
        response: { 200: syncView },
      },
    }, async (request) => deps.sync.get(request.params.workspaceId, request.params.integrationId, request.params.syncId));
  };
}
