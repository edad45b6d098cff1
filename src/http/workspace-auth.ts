// The guard of every /workspaces/:workspaceId route: a valid bearer token for that workspace, then its rate limit.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Metrics } from '../lib/metrics.js';
import type { AuthService } from '../modules/auth/auth.service.js';
import type { InboundRateLimiter } from './rate-limit.js';

export interface WorkspaceGuardDeps {
  auth: AuthService;
  rateLimiter: InboundRateLimiter;
  metrics: Metrics;
}

/**
 * Registers the guard on the plugin scope: every route inside it is authenticated before its body is read.
 * Failed attempts count against the caller's IP; successful ones against the token.
 */
export function guardWorkspaceRoutes(app: FastifyInstance, deps: WorkspaceGuardDeps) {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), workspaceAuth: true };
  });
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const { workspaceId } = request.params as { workspaceId?: string };
    try {
      request.principal = await deps.auth.authenticate(request.headers.authorization);
      deps.auth.authorizeWorkspace(request.principal, workspaceId ?? '');
    } catch (error) {
      if (error instanceof AppError) deps.metrics.authFailures.inc({ reason: error.code });
      await deps.rateLimiter.consume('ip', request.ip, reply);
      throw error;
    }
    await deps.rateLimiter.consume('token', request.principal.rateLimitKey, reply);
  });
}
