// HTTP for connecting: start (workspace-guarded), the browser-binding redirect, and the provider callback.
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';
import { connectionResponse, workspaceParams } from '../connections/connection.schemas.js';
import { renderCallbackPage } from './callback-page.js';
import type { CallbackResult } from './callback.service.js';
import { bindingCookieName } from './oauth-state.js';

const connectBody = z
  .object({
    returnUrl: z.string().max(2048).optional(),
    scopes: z.array(z.string().min(1).max(200)).max(100).optional(),
    credentials: z.record(z.string().max(100), z.string().max(4096)).optional(),
  })
  .strict();

const connectStarted = z.object({ authorizationUrl: z.string(), state: z.string(), expiresAt: z.string() });

function errorPage(reply: FastifyReply, status: number, code: string, slug: string, origins: readonly string[]) {
  const page = renderCallbackPage({ status: 'error', slug, code }, origins);
  return reply.code(status).header('content-security-policy', page.csp).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page.html);
}

/** Routes inside the /workspaces/:workspaceId plugin. */
export function connectRoutes(deps: Pick<Deps, 'connect'>) {
  return async function register(app: FastifyInstance) {
    app.withTypeProvider<ZodTypeProvider>().post('/integrations/:slug/connect', {
      schema: {
        tags: ['connections'],
        summary: 'Start connecting an integration (OAuth URL, or an API key checked and stored)',
        security: [{ bearer: [] }],
        params: workspaceParams.extend({ slug: z.string().min(1).max(64) }),
        body: connectBody.nullish(),
        response: { 200: connectStarted, 201: connectionResponse },
      },
    }, async (request, reply) => {
      const result = await deps.connect.connect({
        workspaceId: request.params.workspaceId,
        slug: request.params.slug,
        actor: `user:${request.principal!.subject}`,
        ...(request.body ?? {}),
      });
      if (result.kind === 'apiKey') return reply.code(201).send({ integration: result.integration });
      return reply.code(200).send({ authorizationUrl: result.authorizationUrl, state: result.state, expiresAt: result.expiresAt });
    });
  };
}

/** Public routes the user's browser reaches. */
export function oauthBrowserRoutes(deps: Pick<Deps, 'callback' | 'oauthStates' | 'config'>) {
  const origins = deps.config.allowedReturnOrigins;
  const secure = deps.config.publicUrl.startsWith('https:');

  return async function register(app: FastifyInstance) {
    // Cookies only here (the browser-binding cookie): its parse and send hooks stay off every other route.
    await app.register(cookie);
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/oauth/authorize/:state', {
      schema: { tags: ['oauth'], summary: 'Binds the authorization to this browser and redirects to the provider', params: z.object({ state: z.string().min(16).max(128) }) },
    }, async (request, reply) => {
      const { state } = request.params;
      const pending = await deps.oauthStates.peek(state);
      if (!pending) return errorPage(reply, 400, 'invalid_state', 'unknown', origins);
      const nonce = await deps.oauthStates.bindBrowser(state);
      if (!nonce) return errorPage(reply, 400, 'state_already_opened', pending.slug, origins);
      void reply.setCookie(bindingCookieName(state), nonce, {
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/oauth/callback',
        maxAge: Math.max(1, Math.floor((Date.parse(pending.expiresAt) - Date.now()) / 1000)),
      });
      return reply.header('cache-control', 'no-store').redirect(pending.providerUrl, 302);
    });

    r.get('/oauth/callback/:slug', {
      schema: {
        tags: ['oauth'],
        summary: 'OAuth callback handler',
        params: z.object({ slug: z.string().min(1).max(64) }),
        querystring: z.record(z.string(), z.string().max(4096)),
      },
    }, async (request, reply) => {
      const result: CallbackResult = await deps.callback.handle({
        slug: request.params.slug,
        query: request.query,
        cookieNonce: (state) => request.cookies[bindingCookieName(state)],
      });
      const state = request.query.state;
      if (state) void reply.clearCookie(bindingCookieName(state), { path: '/oauth/callback' });
      void reply.header('cache-control', 'no-store');
      if (result.returnUrl) {
        const target = new URL(result.returnUrl);
        target.searchParams.set('status', result.status);
        target.searchParams.set('slug', result.slug);
        if (result.status === 'connected') target.searchParams.set('integrationId', result.integrationId);
        else target.searchParams.set('code', result.code);
        return reply.redirect(target.toString(), 302);
      }
      const page = renderCallbackPage(result, origins);
      return reply
        .code(result.status === 'connected' ? 200 : 400)
        .header('content-security-policy', page.csp)
        .type('text/html; charset=utf-8')
        .send(page.html);
    });
  };
}
