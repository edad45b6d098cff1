// A local OAuth provider for benchmarks (plain node:http, so it never is the bottleneck): rotating refresh
// tokens that count every call and catch a token used twice, plus the authorize/code/calendar steps of a connect.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface TokenServerOptions {
  clientId: string;
  clientSecret: string;
  /** `expires_in` of every access token. */
  accessTtlSeconds?: number;
  /**
   * More provider routes (an API fake built on this server's grants): called for any request the server does
   * not know, with the grant's email when the bearer is an access token it issued; returns whether it answered.
   */
  extraRoute?: (req: IncomingMessage, res: ServerResponse, url: URL, bearerEmail: string | undefined) => boolean;
}

export interface TokenServerStats {
  /** Every POST /token, whatever its outcome. */
  tokenCalls: number;
  refreshCalls: number;
  codeExchanges: number;
  /** A refresh token presented again after it was rotated out: the grant would be lost at a real provider. */
  doubleRefreshes: number;
  /** Refresh tokens this server never issued. */
  unknownRefreshTokens: number;
  badClient: number;
  badCodes: number;
  /** Grants (connections) that were refreshed more than once. */
  grantsRefreshedMoreThanOnce: number;
  /** Refresh calls by the `worker` query parameter of the token URL (which process called). */
  callsByWorker: Record<string, number>;
  /** TCP connections opened to the server (keep-alive reuses them). */
  socketsOpened: number;
  firstRefreshAt?: number;
  lastRefreshAt?: number;
}

interface Grant {
  key: string;
  refreshes: number;
  /** The refresh token the provider currently honours for this grant. */
  current: string;
  email: string;
}

export interface TokenServer {
  url: string;
  /** Registers a grant whose first refresh token is `refreshToken` (what the benchmark seeds into the vault). */
  addGrant(key: string, refreshToken: string, email?: string): void;
  /** The refresh token the grant holds now (the last one issued): what the hub must have stored. */
  currentRefreshToken(key: string): string | undefined;
  stats(): TokenServerStats;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const ttl = options.accessTtlSeconds ?? 3600;
  const grants = new Map<string, Grant>();
  /** Every refresh token ever issued → its grant; rotated-out ones stay here so reuse is recognised. */
  const byRefreshToken = new Map<string, Grant>();
  const accessTokens = new Map<string, Grant>();
  const codes = new Map<string, { grant: Grant; redirectUri: string; challenge?: string; scope: string }>();
  const stats: TokenServerStats = {
    tokenCalls: 0, refreshCalls: 0, codeExchanges: 0, doubleRefreshes: 0, unknownRefreshTokens: 0, badClient: 0,
    badCodes: 0, grantsRefreshedMoreThanOnce: 0, callsByWorker: {}, socketsOpened: 0,
  };
  let connectSeq = 0;

  const issue = (grant: Grant, scope?: string) => {
    const accessToken = `at-${randomBytes(12).toString('hex')}`;
    grant.current = `rt-${grant.key}-${grant.refreshes}-${randomBytes(6).toString('hex')}`;
    byRefreshToken.set(grant.current, grant);
    accessTokens.set(accessToken, grant);
    return { access_token: accessToken, refresh_token: grant.current, expires_in: ttl, token_type: 'Bearer', ...(scope ? { scope } : {}) };
  };

  function refresh(res: ServerResponse, form: URLSearchParams, worker: string) {
    stats.refreshCalls++;
    stats.callsByWorker[worker] = (stats.callsByWorker[worker] ?? 0) + 1;
    const now = Date.now();
    stats.firstRefreshAt ??= now;
    stats.lastRefreshAt = now;
    const token = form.get('refresh_token') ?? '';
    const grant = byRefreshToken.get(token);
    if (!grant) {
      stats.unknownRefreshTokens++;
      return json(res, 400, { error: 'invalid_grant', error_description: 'unknown refresh token' });
    }
    if (grant.current !== token) {
      stats.doubleRefreshes++;
      return json(res, 400, { error: 'invalid_grant', error_description: 'refresh token already used' });
    }
    grant.refreshes++;
    if (grant.refreshes === 2) stats.grantsRefreshedMoreThanOnce++;
    return json(res, 200, issue(grant));
  }

  function exchange(res: ServerResponse, form: URLSearchParams) {
    stats.codeExchanges++;
    const pending = codes.get(form.get('code') ?? '');
    codes.delete(form.get('code') ?? '');
    const verifier = form.get('code_verifier');
    const pkceOk = !pending?.challenge || (verifier && createHash('sha256').update(verifier).digest('base64url') === pending.challenge);
    if (!pending || pending.redirectUri !== form.get('redirect_uri') || !pkceOk) {
      stats.badCodes++;
      return json(res, 400, { error: 'invalid_grant', error_description: 'bad code, redirect_uri or code_verifier' });
    }
    return json(res, 200, issue(pending.grant, pending.scope));
  }

  async function token(req: IncomingMessage, res: ServerResponse, url: URL) {
    stats.tokenCalls++;
    const form = new URLSearchParams(await readBody(req));
    if (form.get('client_id') !== options.clientId || form.get('client_secret') !== options.clientSecret) {
      stats.badClient++;
      return json(res, 401, { error: 'invalid_client' });
    }
    const grantType = form.get('grant_type');
    if (grantType === 'refresh_token') return refresh(res, form, url.searchParams.get('worker') ?? '?');
    if (grantType === 'authorization_code') return exchange(res, form);
    return json(res, 400, { error: 'unsupported_grant_type' });
  }

  /** The consent screen, approved at once: a new grant per visit, back to the hub with a code. */
  function authorize(res: ServerResponse, url: URL) {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== options.clientId || !redirectUri || q.get('response_type') !== 'code') {
      return json(res, 400, { error: 'invalid_request' });
    }
    const key = `c${++connectSeq}`;
    const grant: Grant = { key, refreshes: 0, current: '', email: `bench-connect-${connectSeq}@example.com` };
    grants.set(key, grant);
    const code = randomBytes(16).toString('base64url');
    const challenge = q.get('code_challenge') ?? undefined;
    if (challenge && q.get('code_challenge_method') !== 'S256') return json(res, 400, { error: 'invalid_request' });
    codes.set(code, { grant, redirectUri, challenge, scope: q.get('scope') ?? '' });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state') ?? '');
    res.writeHead(302, { location: back.toString(), 'content-length': 0 });
    res.end();
  }

  const grantOfBearer = (req: IncomingMessage) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return bearer ? accessTokens.get(bearer) : undefined;
  };

  function primaryCalendar(req: IncomingMessage, res: ServerResponse) {
    const grant = grantOfBearer(req);
    if (!grant) return json(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
    return json(res, 200, { kind: 'calendar#calendarListEntry', id: grant.email, summary: grant.email, primary: true });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    const handle =
      route === 'POST /token' ? token(req, res, url)
      : route === 'GET /auth' ? authorize(res, url)
      : route === 'GET /calendar/v3/users/me/calendarList/primary' ? primaryCalendar(req, res)
      : route === 'GET /done' ? json(res, 200, { ok: true })
      : options.extraRoute?.(req, res, url, grantOfBearer(req)?.email) ? undefined
      : json(res, 404, { error: 'not_found' });
    void Promise.resolve(handle).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: 'server_error', detail: String(error) });
    });
  });
  server.keepAliveTimeout = 30_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    stats.socketsOpened++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    addGrant(key, refreshToken, email = `${key}@example.com`) {
      const grant: Grant = { key, refreshes: 0, current: refreshToken, email };
      grants.set(key, grant);
      byRefreshToken.set(refreshToken, grant);
    },
    currentRefreshToken: (key) => grants.get(key)?.current,
    stats: () => ({ ...stats, callsByWorker: { ...stats.callsByWorker } }),
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
