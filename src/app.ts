// buildApp(deps): the Fastify instance with schemas, security headers, limits, docs, error handling and routes.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type onResponseHookHandler } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Deps } from './deps.js';
import { registerErrorHandling } from './http/error-handler.js';
import { lazyChild, type Logger } from './lib/logger.js';
import { securityHeaderSet } from './http/security-headers.js';
import { createInboundRateLimiter } from './http/rate-limit.js';
import { guardWorkspaceRoutes } from './http/workspace-auth.js';
import { randomUUID } from 'node:crypto';
import { catalogRoutes } from './modules/catalog/catalog.routes.js';
import { connectionRoutes } from './modules/connections/connection.routes.js';
import { connectRoutes, oauthBrowserRoutes } from './modules/oauth/oauth.routes.js';
import { opsRoutes } from './modules/ops/ops.routes.js';
import { syncRoutes } from './modules/sync/sync.routes.js';
import { widgetRoutes } from './modules/widgets/widget.routes.js';
import { eventsRoutes } from './modules/events/events.routes.js';
import { webhookAdminRoutes } from './modules/webhooks/webhook-admin.routes.js';
import { webhookRoutes } from './modules/webhooks/webhook.routes.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    childLoggerFactory: (logger, bindings, options) => lazyChild(logger as Logger, bindings, options) as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // Keep a caller's request id when it is well-formed, so logs join across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomUUID()}`;
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  // Request durations: each route gets its own recorder when it is registered, as a route-level onResponse hook
  // (nothing looked up per request). Registered first, so every route below has one; 404s record in their handler.
  app.addHook('onRoute', (route) => {
    const record = deps.metrics.httpRequestDuration.forRoute(route.url);
    const observe: onResponseHookHandler = (request, reply, done) => {
      record(request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = [...(route.onResponse ? [route.onResponse].flat() : []), observe];
  });
  // Declared up front (set by the workspace guard): every request object keeps one shape.
  app.decorateRequest('principal', undefined);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const rateLimiter = createInboundRateLimiter({ redis: deps.redis, limits: config.rateLimit });

  // Security headers decided by helmet once (the Fastify plugin rebuilt them on every request). The API answers
  // JSON: it gets the set OWASP's REST Security Cheat Sheet lists for APIs (CSP default-src/frame-ancestors
  // 'none', HSTS, nosniff, X-Frame-Options). The HTML pages (/docs, the OAuth pages) get helmet's full set, those
  // for documents too; they set their own CSP, which takes precedence over this one.
  const csp = { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } };
  const documentHeaders = securityHeaderSet({ contentSecurityPolicy: csp, crossOriginResourcePolicy: { policy: 'same-site' } });
  const apiHeaders = securityHeaderSet({
    contentSecurityPolicy: csp,
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Integration Hub',
        version: '0.1.0',
        description: 'Connects executive workspaces to Slack, Google Calendar, GitHub, Stripe and more.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { deepLinking: true } });

  registerErrorHandling(app, deps.metrics.httpRequestDuration.forRoute('not_found'));

  // One hook for every request: the request id, the security headers, and the per-IP limit of anonymous routes.
  // Hooks on every request are callback-style: an async hook costs a promise per request even when, as on most
  // requests, it has nothing to wait for.
  // Providers' webhook deliveries get no browser security headers: nothing there is ever rendered by a browser,
  // and the webhook path is the hub's hottest.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    const { url } = request;
    const isDocs = url.startsWith('/docs');
    if (isDocs || url.startsWith('/oauth/')) void reply.headers(documentHeaders);
    else if (!url.startsWith('/webhooks/')) void reply.headers(apiHeaders);
    const routeConfig = request.routeOptions.config;
    if (routeConfig.rateLimit === false || routeConfig.workspaceAuth || isDocs) return done();
    const { ip } = request;
    if (rateLimiter.spendHeld('ip', ip, reply)) return done();
    rateLimiter.consume('ip', ip, reply).then(() => done(), done);
  });
  // Once shutdown begins, every answer closes its connection: a keep-alive connection whose request was in flight
  // at SIGTERM would otherwise stay open (idle) after it and hold app.close() until the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });

  app.get('/openapi.json', { config: { rateLimit: false }, schema: { hide: true } }, async () => app.swagger());
  await app.register(opsRoutes(deps));
  await app.register(catalogRoutes(deps));
  await app.register(oauthBrowserRoutes(deps));
  await app.register(webhookRoutes(deps));
  await app.register(webhookAdminRoutes(deps));
  await app.register(
    async (workspace) => {
      guardWorkspaceRoutes(workspace, { auth: deps.auth, rateLimiter, metrics: deps.metrics });
      await workspace.register(connectionRoutes(deps));
      await workspace.register(connectRoutes(deps));
      await workspace.register(widgetRoutes(deps));
      await workspace.register(syncRoutes(deps));
      await workspace.register(eventsRoutes(deps));
    },
    { prefix: '/workspaces/:workspaceId' },
  );
  return app;
}
