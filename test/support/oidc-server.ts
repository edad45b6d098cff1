// A real, independently written OAuth 2.0 authorization server (panva's oidc-provider 9) on loopback, set up
// the way Google runs its own: a confidential client, PKCE required, rotating refresh tokens, revocation and
// introspection, API scopes granted through resource indicators, and a login + consent that approve headlessly.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OidcServerOptions {
  /** Redirect URIs registered for the hub's client (the hub's `${PUBLIC_URL}/oauth/callback/<slug>`). */
  redirectUris: string[];
  /** The API the access tokens are for: its resource indicator (RFC 8707, the tokens' `aud`) and its scopes. */
  resource: { indicator: string; scopes: string[] };
  /** Who logs in at the headless interaction: the tokens' `sub`. */
  accountId: string;
  /** How the hub's client authenticates at the token endpoint (Google: credentials in the body). */
  clientAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  accessTokenTtlSeconds?: number;
}

/** What the server did, recorded from its own events. */
export type OidcEvent =
  | { type: 'grant.success'; grantType: string | undefined }
  | { type: 'grant.error'; grantType: string | undefined; error: string }
  | { type: 'grant.revoked'; grantId: string }
  | { type: 'revocation.error'; error: string };

/** One request that reached `/token/revocation`, as it arrived. */
export interface RevocationRequest {
  token: string | undefined;
  tokenTypeHint: string | undefined;
  /** Whether the caller authenticated as a client (RFC 7009) or sent the token alone (Google's shape). */
  clientAuthenticated: boolean;
}

export interface Introspection {
  active: boolean;
  sub?: string;
  client_id?: string;
  scope?: string;
  aud?: string | string[];
  exp?: number;
  token_type?: string;
}

export interface TokenEndpointAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface OidcServer {
  issuer: string;
  endpoints: { authorize: string; token: string; revocation: string; introspection: string };
  /** The hub's client. */
  client: { id: string; secret: string };
  events: OidcEvent[];
  revocations: RevocationRequest[];
  /**
   * Google's revocation endpoint takes the token alone, no client authentication; RFC 7009 (and so oidc-provider)
   * requires a confidential client to authenticate. While this is on, a request without client authentication is
   * passed on as coming from the client the token was issued to, so Google's shape works here; the revocation
   * itself (token, then the whole grant) is still oidc-provider's. Off: oidc-provider's own answer.
   */
  acceptUnauthenticatedRevocation: boolean;
  /**
   * A browser with a cookie jar opening the authorization URL: follows the server's redirects through its
   * login and consent interactions and stops at the first Location starting with `stopAt` (the hub's callback).
   */
  authorizeInBrowser(authorizationUrl: URL | string, stopAt: string): Promise<URL>;
  /** A direct call to the token endpoint as the hub's client (or with the given credentials). */
  tokenRequest(params: Record<string, string>, credentials?: { id: string; secret: string }): Promise<TokenEndpointAnswer>;
  /** RFC 7662 introspection, authenticated as the resource server's own client. */
  introspect(token: string): Promise<Introspection>;
  close(): Promise<void>;
}

// oidc-provider ships no type declarations: this is the slice of its API used here.
interface ProviderToken {
  clientId: string;
}
interface ProviderGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}
interface InteractionDetails {
  prompt: { name: string; details?: { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> } };
  params: { client_id: string };
  session?: { accountId: string };
  grantId?: string;
}
interface OidcErrorLike {
  error?: string;
  message?: string;
}
interface OidcContext {
  oidc?: { params?: { grant_type?: string } };
}
interface Provider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (...args: never[]) => void): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: unknown, options: { mergeWithLastSubmission: boolean }): Promise<void>;
  Grant: { new (init: { accountId: string; clientId: string }): ProviderGrant; find(id: string): Promise<ProviderGrant | undefined> };
  RefreshToken: { find(value: string): Promise<ProviderToken | undefined> };
  AccessToken: { find(value: string): Promise<ProviderToken | undefined> };
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => Provider;

// A variable specifier keeps TypeScript from looking for declarations the package does not have.
const OIDC_PROVIDER: string = 'oidc-provider';

const HUB_CLIENT = { id: 'hub', secret: 'hub-secret' };
/** The resource server's own client: it may only introspect. */
const RESOURCE_SERVER_CLIENT = { id: 'resource-server', secret: `rs-${randomBytes(12).toString('hex')}` };

const basic = (c: { id: string; secret: string }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startOidcServer(options: OidcServerOptions): Promise<OidcServer> {
  const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: ProviderConstructor };
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const httpServer = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const { indicator, scopes } = options.resource;
  const clientAuthMethod = options.clientAuthMethod ?? 'client_secret_post';

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: HUB_CLIENT.id,
        client_secret: HUB_CLIENT.secret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: clientAuthMethod,
      },
      {
        client_id: RESOURCE_SERVER_CLIENT.id,
        client_secret: RESOURCE_SERVER_CLIENT.secret,
        redirect_uris: [],
        grant_types: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    cookies: { keys: [randomBytes(16).toString('hex')] },
    // Its own signing key (ID tokens, if a test asks for openid), rather than the library's shared dev key.
    jwks: { keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' }] },
    // PKCE even for a confidential client (the default only demands it of public clients).
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access'],
    // Like Google with access_type=offline: a refresh token for any client allowed the grant, without the
    // OIDC `offline_access` scope, and tokens that outlive the browser session at the server.
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    // Rotation on use, with reuse detection: a rotated-out refresh token presented again revokes the grant.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 3600,
      AuthorizationCode: 60,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Session: 3600,
      Interaction: 600,
      IdToken: 3600,
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens.
        allowedPolicy: (_ctx: unknown, client: ProviderToken, token: ProviderToken) => client.clientId === token.clientId,
      },
      introspection: {
        enabled: true,
        // The client that holds the token, or the resource server it is for.
        allowedPolicy: (_ctx: unknown, client: ProviderToken, token: ProviderToken) =>
          client.clientId === token.clientId || client.clientId === RESOURCE_SERVER_CLIENT.id,
      },
      // The API's scopes (not OIDC scopes) are granted for the API as a resource; without a `resource`
      // parameter the request is for this one API, and the token endpoint uses what was granted.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => indicator,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== indicator) throw new Error(`unknown resource ${resource}`);
          return { scope: scopes.join(' '), audience: indicator, accessTokenFormat: 'opaque', accessTokenTTL: options.accessTokenTtlSeconds ?? 3600 };
        },
      },
    },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub, email: sub }) }),
  });

  const events: OidcEvent[] = [];
  const grantTypeOf = (ctx: OidcContext) => ctx.oidc?.params?.grant_type;
  const errorOf = (error: OidcErrorLike) => error.error ?? error.message ?? 'unknown';
  provider.on('grant.success', (ctx: OidcContext) => events.push({ type: 'grant.success', grantType: grantTypeOf(ctx) }));
  provider.on('grant.error', (ctx: OidcContext, error: OidcErrorLike) => events.push({ type: 'grant.error', grantType: grantTypeOf(ctx), error: errorOf(error) }));
  provider.on('grant.revoked', (_ctx: OidcContext, grantId: string) => events.push({ type: 'grant.revoked', grantId }));
  provider.on('revocation.error', (_ctx: OidcContext, error: OidcErrorLike) => events.push({ type: 'revocation.error', error: errorOf(error) }));
  provider.on('server_error', (_ctx: OidcContext, error: Error) => console.error('oidc-provider server_error', error));

  /** Logs in as the configured account, then grants whatever the consent prompt says is missing. */
  async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
    if (prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: options.accountId } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = (grantId ? await provider.Grant.find(grantId) : undefined) ?? new provider.Grant({ accountId: session!.accountId, clientId: params.client_id });
    const details = prompt.details ?? {};
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [resource, missing] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(resource, missing.join(' '));
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }

  const revocations: RevocationRequest[] = [];
  const server: OidcServer = {
    issuer,
    endpoints: { authorize: `${issuer}/auth`, token: `${issuer}/token`, revocation: `${issuer}/token/revocation`, introspection: `${issuer}/token/introspection` },
    client: { ...HUB_CLIENT },
    events,
    revocations,
    acceptUnauthenticatedRevocation: true,
    authorizeInBrowser,
    tokenRequest,
    introspect,
    close: () => new Promise<void>((resolve, reject) => {
      httpServer.closeAllConnections();
      httpServer.close((error) => (error ? reject(error) : resolve()));
    }),
  };

  async function revocationFrontDoor(req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void) {
    const text = await readBody(req);
    const form = new URLSearchParams(text);
    const token = form.get('token') ?? undefined;
    const clientAuthenticated = req.headers.authorization !== undefined || form.has('client_id') || form.has('client_assertion');
    revocations.push({ token, tokenTypeHint: form.get('token_type_hint') ?? undefined, clientAuthenticated });
    if (!clientAuthenticated && server.acceptUnauthenticatedRevocation && token) {
      const owner = (await provider.RefreshToken.find(token)) ?? (await provider.AccessToken.find(token));
      const client = [HUB_CLIENT, RESOURCE_SERVER_CLIENT].find((c) => c.id === owner?.clientId);
      if (client) req.headers.authorization = basic(client);
    }
    // The body is read already: oidc-provider takes a pre-read body from req.body.
    (req as IncomingMessage & { body?: string }).body = text;
    next(req, res);
  }

  const callback = provider.callback();
  handle = (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const fail = (error: unknown) => {
      console.error('oidc test server', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    };
    if (req.method === 'GET' && path.startsWith('/interaction/')) return void interact(req, res).catch(fail);
    if (req.method === 'POST' && path === '/token/revocation') return void revocationFrontDoor(req, res, callback).catch(fail);
    callback(req, res);
  };

  async function authorizeInBrowser(authorizationUrl: URL | string, stopAt: string): Promise<URL> {
    const jar = new Map<string, { value: string; path: string }>();
    let url = new URL(authorizationUrl);
    for (let hop = 0; hop < 12; hop++) {
      if (url.href.startsWith(stopAt)) return url;
      if (url.origin !== issuer) throw new Error(`the browser left the authorization server for ${url.origin}`);
      const cookie = [...jar].filter(([, c]) => url.pathname.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`).join('; ');
      const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attributes] = line.split(';').map((s) => s.trim());
        const eq = pair!.indexOf('=');
        const name = pair!.slice(0, eq);
        const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
        const expires = attributes.find((a) => a.toLowerCase().startsWith('expires='))?.slice(8);
        if (expires && Date.parse(expires) <= Date.now()) jar.delete(name);
        else jar.set(name, { value: pair!.slice(eq + 1), path });
      }
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        throw new Error(`authorization server answered ${res.status} at ${url.pathname}: ${(await res.text()).slice(0, 500)}`);
      }
      await res.body?.cancel();
      url = new URL(location, url);
    }
    throw new Error('too many redirects at the authorization server');
  }

  async function tokenRequest(params: Record<string, string>, credentials = HUB_CLIENT): Promise<TokenEndpointAnswer> {
    const body = new URLSearchParams(params);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (clientAuthMethod === 'client_secret_post') {
      body.set('client_id', credentials.id);
      body.set('client_secret', credentials.secret);
    } else {
      headers.authorization = basic(credentials);
    }
    const res = await fetch(server.endpoints.token, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function introspect(token: string): Promise<Introspection> {
    const res = await fetch(server.endpoints.introspection, {
      method: 'POST',
      headers: { authorization: basic(RESOURCE_SERVER_CLIENT), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token }),
    });
    if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Introspection;
  }

  return server;
}
