// The guard of every /workspaces/:workspaceId route: a valid bearer token for that workspace, then its rate limit.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Metrics } from '../lib/metrics.js';
import type { AuthService, Principal } from '../modules/auth/auth.service.js';
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
  async function guard(request: FastifyRequest, reply: FastifyReply, workspaceId: string) {
    try {
      request.principal = await deps.auth.authenticate(request.headers.authorization);
      deps.auth.authorizeWorkspace(request.principal, workspaceId);
    } catch (error) {
      if (error instanceof AppError) deps.metrics.authFailures.inc({ reason: error.code });
      await deps.rateLimiter.consume('ip', request.ip, reply);
      throw error;
    }
    await deps.rateLimiter.consume('token', request.principal.rateLimitKey, reply);
  }
  // The principal last seen on each connection, with the exact header it came from: a dashboard's keep-alive
  // connection sends one token over and over, and comparing the header with the last one is cheaper than finding
  // it among every token seen (a hash of the whole token per request).
  const lastOnConnection = new WeakMap<object, { authorization: string; principal: Principal }>();
  const knownPrincipal = (request: FastifyRequest): Principal | undefined => {
    const { authorization } = request.headers;
    if (!authorization) return undefined;
    const last = lastOnConnection.get(request.raw.socket);
    // Still known to the auth service (not expired): the memo never outlives the token.
    if (last && last.authorization === authorization && deps.auth.stillValid(last.principal)) return last.principal;
    const principal = deps.auth.knownPrincipal(authorization);
    if (principal) lastOnConnection.set(request.raw.socket, { authorization, principal });
    return principal;
  };
  // Callback-style: a caller whose token was verified before, acting on its own workspace with points this instance
  // holds, passes without a promise; anything else (first sight, wrong workspace, no points held) takes the full way.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    const workspaceId = (request.params as { workspaceId?: string }).workspaceId ?? '';
    const known = knownPrincipal(request);
    if (known && deps.auth.mayActOn(known, workspaceId) && deps.rateLimiter.spendHeld('token', known.rateLimitKey, reply)) {
      request.principal = known;
      return done();
    }
    guard(request, reply, workspaceId).then(() => done(), done);
  });
}
