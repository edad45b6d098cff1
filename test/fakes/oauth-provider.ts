// A configurable fake OAuth 2.0 authorization server: each provider fake sets its quirks (client auth,
// body format, PKCE, rotation, response and error shapes) and adds its API routes on the same app.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { basicCredentials, contentTypeOf, randomToken, startFakeServer, type FakeServer } from './fake-server.js';

export interface FakeGrant {
  id: string;
  scope: string;
  accessToken: string;
  accessExpiresAt?: number;
  refreshToken?: string;
  /** Refresh tokens rotated out of this grant. */
  retiredRefreshTokens: string[];
  revoked: boolean;
  /** Provider-specific facts (account ids, tenants) that API routes answer with. */
  extra: Record<string, unknown>;
}

export interface TokenShape {
  grant: FakeGrant;
  kind: 'code' | 'refresh';
  expiresIn?: number;
}

export interface FakeOAuthOptions {
  clientId?: string;
  clientSecret?: string;
  clientAuth: 'basic' | 'body' | 'either';
  bodyFormat: 'form' | 'json' | 'either';
  pkce: 'required' | 'optional' | 'unsupported';
  /** Refresh tokens issued at all, and whether each use replaces them. */
  refresh: 'none' | 'static' | 'rotating';
  /** Access-token lifetime; undefined: no expires_in. */
  accessTtlSeconds?: number;
  paths: { authorize: string; token: string; revoke?: string };
  /** Shapes a successful token answer; default: RFC 6749 JSON. */
  tokenBody?(shape: TokenShape): Record<string, unknown>;
  /** Shapes an error answer; default: RFC 6749 JSON with the given status. */
  errorReply?(error: { status: number; error: string; description: string }): { status: number; body: Record<string, unknown> | string; contentType?: string };
  /** Extra callback query parameters (QuickBooks realmId). */
  callbackExtras?(grant: FakeGrant): Record<string, string>;
  /** Facts stored on each new grant (account ids…), for the API routes. */
  grantExtra?(): Record<string, unknown>;
  /** Whether presenting a rotated-out refresh token revokes the grant (default true; Microsoft does not). */
  reuseDetection?: boolean;
  /** How the revoke endpoint authenticates the client and names the token. */
  revokeAuth?: 'basic' | 'body' | 'bearer' | 'none';
}

export interface FakeOAuthProvider extends FakeServer {
  clientId: string;
  clientSecret: string;
  calls: { authorize: number; token: number; codeExchanges: number; refreshes: number; revokes: number };
  grants: Map<string, FakeGrant>;
  /** The next authorize request is answered with this error instead of a code (access_denied …). */
  denyNext(error: string): void;
  /** At the next consent the user unticks these scopes: the grant holds the others only. */
  withholdScopesNext(scopes: string[]): void;
  /** The next token call fails with this status and error (transient 503, dead grant …). */
  failNextToken(status: number, error: string): void;
  /** Delays every token answer (to hold a refresh in flight). */
  setTokenDelay(ms: number): void;
  /** The grant an access token belongs to, if it is live (not expired, not revoked). */
  grantOfAccessToken(token: string | undefined): FakeGrant | undefined;
  grantOfToken(token: string): FakeGrant | undefined;
}

interface PendingCode {
  grant: FakeGrant;
  redirectUri: string;
  challenge?: string;
  used: boolean;
  expiresAt: number;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export async function startFakeOAuthProvider(
  options: FakeOAuthOptions,
  addRoutes?: (app: FastifyInstance, provider: FakeOAuthProvider) => void,
): Promise<FakeOAuthProvider> {
  const clientId = options.clientId ?? 'fake-client-id';
  const clientSecret = options.clientSecret ?? 'fake-client-secret';
  const codes = new Map<string, PendingCode>();
  const grants = new Map<string, FakeGrant>();
  const calls = { authorize: 0, token: 0, codeExchanges: 0, refreshes: 0, revokes: 0 };
  let denial: string | undefined;
  let withheld: string[] = [];
  let tokenFailure: { status: number; error: string } | undefined;
  let tokenDelay = 0;

  const sendError = (reply: FastifyReply, status: number, error: string, description: string) => {
    const shaped: { status: number; body: Record<string, unknown> | string; contentType?: string } =
      options.errorReply?.({ status, error, description }) ?? { status, body: { error, error_description: description } };
    return reply.code(shaped.status).type(shaped.contentType ?? 'application/json').send(shaped.body);
  };

  function issue(grant: FakeGrant, kind: 'code' | 'refresh') {
    grant.accessToken = randomToken('at_');
    grant.accessExpiresAt = options.accessTtlSeconds ? Date.now() + options.accessTtlSeconds * 1000 : undefined;
    if (options.refresh === 'rotating' || (options.refresh === 'static' && !grant.refreshToken)) {
      if (grant.refreshToken) grant.retiredRefreshTokens.push(grant.refreshToken);
      grant.refreshToken = randomToken('rt_');
    }
    const shape: TokenShape = { grant, kind, expiresIn: options.accessTtlSeconds };
    return (
      options.tokenBody?.(shape) ?? {
        access_token: grant.accessToken,
        token_type: 'Bearer',
        ...(shape.expiresIn ? { expires_in: shape.expiresIn } : {}),
        ...(options.refresh !== 'none' && (kind === 'code' || options.refresh === 'rotating') ? { refresh_token: grant.refreshToken } : {}),
        scope: grant.scope,
      }
    );
  }

  function clientOf(req: FastifyRequest, body: Record<string, string>): { id?: string; secret?: string; method?: 'basic' | 'body' } {
    const basic = basicCredentials(req);
    if (basic) return { ...basic, method: 'basic' };
    if (body.client_id || body.client_secret) return { id: body.client_id, secret: body.client_secret, method: 'body' };
    return {};
  }

  const provider = {} as FakeOAuthProvider;
  const server = await startFakeServer((app) => {
    app.get(options.paths.authorize, async (req, reply) => {
      calls.authorize++;
      const q = req.query as Record<string, string>;
      if (q.client_id !== clientId) return reply.code(400).send('unknown client_id');
      if (!q.redirect_uri || !q.state) return reply.code(400).send('redirect_uri and state are required');
      if (options.pkce === 'required' && (!q.code_challenge || q.code_challenge_method !== 'S256')) {
        return reply.code(400).send('PKCE (S256) is required');
      }
      if (options.pkce === 'unsupported' && q.code_challenge) return reply.code(400).send('unexpected code_challenge');
      const target = new URL(q.redirect_uri);
      if (denial) {
        target.searchParams.set('error', denial);
        target.searchParams.set('error_description', 'The user said no.');
        target.searchParams.set('state', q.state);
        denial = undefined;
        return reply.redirect(target.toString(), 302);
      }
      const separator = (q.scope ?? '').includes(',') ? ',' : ' ';
      const granted = (q.scope ?? '').split(separator).filter((scope) => !withheld.includes(scope)).join(separator);
      withheld = [];
      const grant: FakeGrant = {
        id: randomToken('g_'),
        scope: granted,
        accessToken: '',
        retiredRefreshTokens: [],
        revoked: false,
        extra: options.grantExtra?.() ?? {},
      };
      const code = randomToken('code_');
      codes.set(code, { grant, redirectUri: q.redirect_uri, challenge: q.code_challenge, used: false, expiresAt: Date.now() + 600_000 });
      target.searchParams.set('code', code);
      target.searchParams.set('state', q.state);
      for (const [k, v] of Object.entries(options.callbackExtras?.(grant) ?? {})) target.searchParams.set(k, v);
      return reply.redirect(target.toString(), 302);
    });

    app.post(options.paths.token, async (req, reply) => {
      calls.token++;
      if (tokenDelay) await new Promise((r) => setTimeout(r, tokenDelay));
      const format = contentTypeOf(req);
      if (format === 'other' || (options.bodyFormat !== 'either' && format !== options.bodyFormat)) {
        return sendError(reply, 400, 'invalid_request', `the body must be ${options.bodyFormat}`);
      }
      const body = (req.body ?? {}) as Record<string, string>;
      const client = clientOf(req, body);
      if (client.id !== clientId || client.secret !== clientSecret) return sendError(reply, 401, 'invalid_client', 'bad client credentials');
      if (options.clientAuth !== 'either' && client.method !== options.clientAuth) {
        return sendError(reply, 401, 'invalid_client', `authenticate with ${options.clientAuth}`);
      }
      if (tokenFailure) {
        const failure = tokenFailure;
        tokenFailure = undefined;
        return sendError(reply, failure.status, failure.error, 'injected failure');
      }
      if (body.grant_type === 'authorization_code') {
        calls.codeExchanges++;
        const pending = codes.get(body.code ?? '');
        if (!pending || pending.expiresAt < Date.now()) return sendError(reply, 400, 'invalid_grant', 'unknown code');
        if (pending.used) {
          // Replaying a code revokes what it issued (RFC 6749 §4.1.2).
          pending.grant.revoked = true;
          return sendError(reply, 400, 'invalid_grant', 'code already used');
        }
        pending.used = true;
        if (body.redirect_uri !== pending.redirectUri) return sendError(reply, 400, 'invalid_grant', 'redirect_uri mismatch');
        if (pending.challenge) {
          if (!body.code_verifier || s256(body.code_verifier) !== pending.challenge) return sendError(reply, 400, 'invalid_grant', 'PKCE verification failed');
        } else if (body.code_verifier && options.pkce === 'unsupported') {
          return sendError(reply, 400, 'invalid_request', 'unexpected code_verifier');
        }
        grants.set(pending.grant.id, pending.grant);
        return reply.send(issue(pending.grant, 'code'));
      }
      if (body.grant_type === 'refresh_token') {
        calls.refreshes++;
        if (options.refresh === 'none') return sendError(reply, 400, 'unsupported_grant_type', 'no refresh tokens here');
        const token = body.refresh_token ?? '';
        const grant = [...grants.values()].find((g) => g.refreshToken === token || g.retiredRefreshTokens.includes(token));
        if (!grant || grant.revoked) return sendError(reply, 400, 'invalid_grant', 'unknown or revoked refresh token');
        if (grant.refreshToken !== token && options.reuseDetection !== false) {
          // Reuse of a rotated-out refresh token: the whole grant is revoked.
          grant.revoked = true;
          return sendError(reply, 400, 'invalid_grant', 'refresh token reused');
        }
        return reply.send(issue(grant, 'refresh'));
      }
      return sendError(reply, 400, 'unsupported_grant_type', 'unknown grant_type');
    });

    if (options.paths.revoke) {
      app.route({
        method: ['POST', 'DELETE'],
        url: options.paths.revoke,
        handler: async (req, reply) => {
          calls.revokes++;
          const body = (req.body ?? {}) as Record<string, string>;
          const auth = options.revokeAuth ?? 'none';
          if (auth === 'basic' || auth === 'body') {
            const client = clientOf(req, body);
            if (client.id !== clientId || client.secret !== clientSecret || client.method !== auth) return sendError(reply, 401, 'invalid_client', 'bad client');
          }
          const token = auth === 'bearer' ? (req.headers.authorization ?? '').replace(/^Bearer /, '') : (body.token ?? '');
          const grant = provider.grantOfToken(token);
          if (grant) grant.revoked = true;
          return reply.code(200).send(auth === 'bearer' ? { ok: true, revoked: true } : {});
        },
      });
    }
    addRoutes?.(app, provider);
  });

  return Object.assign(provider, server, {
    clientId,
    clientSecret,
    calls,
    grants,
    denyNext: (error: string) => void (denial = error),
    withholdScopesNext: (scopes: string[]) => void (withheld = scopes),
    failNextToken: (status: number, error: string) => void (tokenFailure = { status, error }),
    setTokenDelay: (ms: number) => void (tokenDelay = ms),
    grantOfAccessToken(token: string | undefined) {
      if (!token) return undefined;
      const grant = [...grants.values()].find((g) => g.accessToken === token);
      if (!grant || grant.revoked) return undefined;
      if (grant.accessExpiresAt && grant.accessExpiresAt < Date.now()) return undefined;
      return grant;
    },
    grantOfToken(token: string) {
      return [...grants.values()].find((g) => g.accessToken === token || g.refreshToken === token);
    },
  });
}
