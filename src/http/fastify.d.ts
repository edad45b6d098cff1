// Route options and request fields the hub adds to Fastify.
import 'fastify';
import type { Principal } from '../modules/auth/auth.service.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route is not rate limited (operator probes). */
    rateLimit?: false;
    /** Set on routes whose caller must hold a token for `:workspaceId`. */
    workspaceAuth?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}
