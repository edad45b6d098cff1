// HTTP for a workspace's connections: schema, (guarded by the workspace plugin), one service call.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { connectionListResponse, connectionParams, connectionResponse, workspaceParams } from './connection.schemas.js';

export function connectionRoutes(deps: Pick<Deps, 'connections' | 'disconnect'>) {
  return async function register(app: FastifyInstance) {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const security = [{ bearer: [] }];

    r.get('/integrations', {
      schema: {
        tags: ['connections'],
        summary: "List the workspace's connected integrations",
        security,
        params: workspaceParams,
        response: { 200: connectionListResponse },
      },
    }, async (request) => ({ integrations: await deps.connections.list(request.params.workspaceId) }));

    r.get('/integrations/:integrationId', {
      schema: {
        tags: ['connections'],
        summary: 'Show one connected integration',
        security,
        params: connectionParams,
        response: { 200: connectionResponse },
      },
    }, async (request) => ({
      integration: await deps.connections.get(request.params.workspaceId, request.params.integrationId),
    }));

    r.post('/integrations/:integrationId/disconnect', {
      schema: {
        tags: ['connections'],
        summary: 'Disconnect: revoke at the provider, forget the credentials, purge cached data (idempotent)',
        security,
        params: connectionParams,
        response: { 200: connectionResponse },
      },
    }, async (request) => ({
      integration: await deps.disconnect.disconnect(request.params.workspaceId, request.params.integrationId, `user:${request.principal!.subject}`),
    }));
  };
}
