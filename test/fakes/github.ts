// Fake GitHub: the OAuth web flow as GitHub answers it (creds in the form body, optional S256 PKCE, form-encoded
// answers unless the client asks for JSON, errors with HTTP 200), GitHub App user tokens (8 h, single-use
// rotating refresh tokens) or OAuth App tokens (no expiry, no refresh), the token-revocation REST call, the
// REST routes the hub reads at connect time, and the repository routes the widgets read (pulls, actions/runs)
// with `Link` pagination, `x-ratelimit-*` headers on every answer and GitHub's `{ message }` error envelope.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { basicCredentials, bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeGrant, type FakeOAuthProvider } from './oauth-provider.js';

export const GITHUB_PATHS = {
  authorize: '/login/oauth/authorize',
  token: '/login/oauth/access_token',
  // {clientId} is filled by the hub, as in the real https://api.github.com/applications/{client_id}/token.
  revoke: '/applications/{clientId}/token',
  api: '',
};

/** `app`: GitHub App user-to-server tokens; `oauth-app`: classic OAuth App tokens. */
export type GitHubAppKind = 'app' | 'oauth-app';

export interface FakeGitHub extends FakeOAuthProvider {
  /** Which kind of app the next authorizations are for. */
  setKind(kind: GitHubAppKind): void;
  /** The Accept header of every token-endpoint call, in order. */
  tokenAccepts: (string | undefined)[];
  /** Every revocation call that reached the fake, with how it authenticated. */
  revocations: { clientId?: string; basic: boolean; contentType: string; token?: string; status: number }[];
  /** Repositories the widgets read, by `owner/name`; a repository not listed answers 404. */
  repos: Map<string, { pulls: FakePull[]; runs: FakeRun[] }>;
  api: {
    calls: number;
    routeCalls: { pulls: number; runs: number };
    delayMs: number;
    failures: { status: number; headers?: Record<string, string> }[];
    /** The primary quota: every repository call spends one; at 0 GitHub answers 403 until `resetAt` (epoch s). */
    rateLimit: { remaining: number; resetAt: number };
    /** Accept and X-GitHub-Api-Version of every repository call. */
    headers: { accept?: string; version?: string }[];
  };
}

export interface FakePull {
  number: number;
  title: string;
  user: string;
  createdAt: string;
  head?: string;
  base?: string;
  draft?: boolean;
  reviewers?: string[];
}

export interface FakeRun {
  id: number;
  name: string;
  workflowId: number;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'cancelled' | 'skipped' | 'timed_out' | null;
  createdAt: string;
  branch?: string;
}

const API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);

const DOCS = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';

/** GitHub's names for the generic fake's token errors, all answered with HTTP 200. */
function githubError(error: string, description: string): { error: string; error_description: string } {
  if (error === 'invalid_client') return { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' };
  if (error === 'invalid_grant' && /refresh/.test(description)) return { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' };
  if (error === 'invalid_grant' && /redirect_uri/.test(description)) return { error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.' };
  if (error === 'invalid_grant') return { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' };
  return { error, error_description: description };
}

export async function startFakeGitHub(options: { user?: { id: number; login: string; name?: string }; installations?: number[] } = {}): Promise<FakeGitHub> {
  const user = options.user ?? { id: 583231, login: 'octocat', name: 'The Octocat' };
  const installations = options.installations ?? [1234567];
  let kind: GitHubAppKind = 'app';
  const tokenAccepts: (string | undefined)[] = [];
  const revocations: FakeGitHub['revocations'] = [];

  const repos: FakeGitHub['repos'] = new Map();
  const api: FakeGitHub['api'] = { calls: 0, routeCalls: { pulls: 0, runs: 0 }, delayMs: 0, failures: [], rateLimit: { remaining: 5000, resetAt: 0 }, headers: [] };
  const notAuthenticated = (reply: FastifyReply) => reply.code(401).send({ message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });

  const fake = (await startFakeOAuthProvider(
    {
      clientId: 'Iv23liFakeGitHubClient',
      clientSecret: 'fake-github-secret',
      clientAuth: 'body',
      bodyFormat: 'form',
      // S256 PKCE is accepted since 2025-07 and checked when sent; it is not required.
      pkce: 'optional',
      refresh: 'rotating',
      accessTtlSeconds: 28_800,
      // No `revoke` path here: GitHub's revocation is a REST call with its own shape (below).
      paths: { authorize: GITHUB_PATHS.authorize, token: GITHUB_PATHS.token },
      grantExtra: () => ({ kind }),
      tokenBody: ({ grant }) =>
        grant.extra.kind === 'app'
          ? { access_token: grant.accessToken, expires_in: 28_800, refresh_token: grant.refreshToken, refresh_token_expires_in: 15_897_600, scope: '', token_type: 'bearer' }
          : // OAuth Apps grant the requested scopes and say so comma-separated; the token does not expire.
            { access_token: grant.accessToken, scope: grant.scope.split(' ').filter(Boolean).join(','), token_type: 'bearer' },
      errorReply: ({ status, error, description }) =>
        status >= 500 || status === 429 ? { status, body: { error, error_description: description } } : { status: 200, body: { ...githubError(error, description), error_uri: DOCS } },
    },
    (app, provider) => {
      app.addHook('onRequest', async (req) => {
        if (req.method === 'POST' && req.url.split('?')[0] === GITHUB_PATHS.token) tokenAccepts.push(req.headers.accept);
      });
      // Without Accept: application/json GitHub answers the token endpoint form-encoded, errors included.
      app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        if (req.url.split('?')[0] !== GITHUB_PATHS.token || (req.headers.accept ?? '').includes('application/json') || typeof payload !== 'string') return payload;
        const body = JSON.parse(payload) as Record<string, unknown>;
        void reply.type('application/x-www-form-urlencoded; charset=utf-8');
        return new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
      });

      const grantOf = (req: FastifyRequest): FakeGrant | undefined => provider.grantOfAccessToken(bearerToken(req));

      app.get('/user', async (req, reply) => {
        if (!grantOf(req)) return notAuthenticated(reply);
        return { login: user.login, id: user.id, node_id: 'MDQ6VXNlcjE=', type: 'User', name: user.name ?? null, site_admin: false };
      });

      app.get('/user/installations', async (req, reply) => {
        const grant = grantOf(req);
        if (!grant) return notAuthenticated(reply);
        if (grant.extra.kind !== 'app') {
          return reply.code(403).send({ message: 'You must authenticate with an access token authorized to a GitHub App in order to list installations', documentation_url: 'https://docs.github.com/rest/apps/installations', status: '403' });
        }
        return {
          total_count: installations.length,
          installations: installations.map((id) => ({ id, app_id: 1, target_type: 'Organization', account: { login: 'acme', id: 9919, type: 'Organization' } })),
        };
      });

      // Repository routes: quota headers on every answer, queued failures first, then the token, then the quota.
      app.addHook('onRequest', async (req, reply) => {
        if (!req.url.startsWith('/repos/')) return;
        api.calls++;
        api.headers.push({ accept: req.headers.accept, version: req.headers['x-github-api-version'] as string | undefined });
        if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
        const failure = api.failures.shift();
        if (failure) {
          const message = failure.status === 429 ? 'You have exceeded a secondary rate limit.' : 'Server Error';
          return reply.code(failure.status).headers(failure.headers ?? {}).send({ message, documentation_url: 'https://docs.github.com/rest', status: String(failure.status) });
        }
        if (!grantOf(req)) return notAuthenticated(reply);
        const version = req.headers['x-github-api-version'];
        if (typeof version === 'string' && !API_VERSIONS.has(version)) {
          return reply.code(400).send({ message: `API version ${version} is not supported.`, documentation_url: 'https://docs.github.com/rest/about-the-rest-api/api-versions', status: '400' });
        }
        const quota = api.rateLimit;
        if (!quota.resetAt || quota.resetAt * 1000 < Date.now()) quota.resetAt = Math.floor(Date.now() / 1000) + 3600;
        const limited = quota.remaining <= 0;
        if (!limited) quota.remaining--;
        void reply.headers({ 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': String(quota.remaining), 'x-ratelimit-used': String(5000 - quota.remaining), 'x-ratelimit-reset': String(quota.resetAt), 'x-ratelimit-resource': 'core' });
        if (limited) {
          return reply.code(403).send({ message: `API rate limit exceeded for user ID ${user.id}.`, documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api', status: '403' });
        }
      });

      /** One page of `all` in GitHub's style: `page`/`per_page` (at most 100), and a Link header to the others. */
      function paginate<T>(req: FastifyRequest, reply: FastifyReply, all: T[]): T[] {
        const url = new URL(req.url, `http://${req.headers.host}`);
        const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
        const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
        const pages = Math.max(Math.ceil(all.length / perPage), 1);
        const link = (n: number, rel: string) => {
          url.searchParams.set('page', String(n));
          return `<${url.toString()}>; rel="${rel}"`;
        };
        const links = [...(page < pages ? [link(page + 1, 'next'), link(pages, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])];
        if (links.length) void reply.header('link', links.join(', '));
        return all.slice((page - 1) * perPage, page * perPage);
      }
      const repoOf = (req: FastifyRequest) => {
        const { owner, name } = req.params as { owner: string; name: string };
        return repos.get(`${owner}/${name}`);
      };
      const notFound = (reply: FastifyReply) => reply.code(404).send({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
      const htmlUrl = (req: FastifyRequest, path: string) => {
        const { owner, name } = req.params as { owner: string; name: string };
        return `https://github.com/${owner}/${name}/${path}`;
      };

      app.get('/repos/:owner/:name/pulls', async (req, reply) => {
        api.routeCalls.pulls++;
        const repo = repoOf(req);
        if (!repo) return notFound(reply);
        const state = (req.query as { state?: string }).state ?? 'open';
        // Every fake pull request is open; GitHub's default order is newest first.
        const pulls = state === 'closed' ? [] : [...repo.pulls].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
        return paginate(req, reply, pulls).map((p) => ({
          id: 1_000_000 + p.number,
          number: p.number,
          state: 'open',
          title: p.title,
          html_url: htmlUrl(req, `pull/${p.number}`),
          user: { login: p.user, id: 1, type: 'User' },
          draft: p.draft ?? false,
          created_at: p.createdAt,
          updated_at: p.createdAt,
          head: { ref: p.head ?? `feature-${p.number}`, sha: 'a'.repeat(40) },
          base: { ref: p.base ?? 'main', sha: 'b'.repeat(40) },
          requested_reviewers: (p.reviewers ?? []).map((login) => ({ login, id: 2, type: 'User' })),
        }));
      });

      app.get('/repos/:owner/:name/actions/runs', async (req, reply) => {
        api.routeCalls.runs++;
        const repo = repoOf(req);
        if (!repo) return notFound(reply);
        const q = req.query as { created?: string; branch?: string };
        // `created` takes GitHub's search date syntax; the widgets send `>=YYYY-MM-DD`.
        if (q.created && !/^>=\d{4}-\d{2}-\d{2}$/.test(q.created)) return reply.code(422).send({ message: 'Validation Failed', status: '422' });
        const from = q.created ? Date.parse(q.created.slice(2)) : 0;
        const runs = repo.runs
          .filter((r) => Date.parse(r.createdAt) >= from && (!q.branch || (r.branch ?? 'main') === q.branch))
          .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
        return {
          total_count: runs.length,
          workflow_runs: paginate(req, reply, runs).map((r) => ({
            id: r.id,
            name: r.name,
            workflow_id: r.workflowId,
            head_branch: r.branch ?? 'main',
            event: 'push',
            status: r.status,
            conclusion: r.conclusion,
            run_number: r.id,
            html_url: htmlUrl(req, `actions/runs/${r.id}`),
            created_at: r.createdAt,
            updated_at: r.createdAt,
          })),
        };
      });

      // DELETE /applications/{client_id}/token: Basic client_id:client_secret, JSON body { access_token }.
      app.delete('/applications/:clientId/token', async (req, reply) => {
        provider.calls.revokes++;
        const basic = basicCredentials(req);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const token = typeof body.access_token === 'string' ? body.access_token : undefined;
        const record = (status: number) => {
          revocations.push({ clientId: (req.params as { clientId: string }).clientId, basic: !!basic, contentType: contentTypeOf(req), token, status });
          return status;
        };
        if (!basic || basic.id !== provider.clientId || basic.secret !== provider.clientSecret || (req.params as { clientId: string }).clientId !== provider.clientId) {
          return reply.code(record(404)).send({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token', status: '404' });
        }
        if (contentTypeOf(req) !== 'json' || !token) return reply.code(record(422)).send({ message: 'Validation Failed', status: '422' });
        const grant = provider.grantOfAccessToken(token);
        if (!grant) return reply.code(record(404)).send({ message: 'Not Found', status: '404' });
        grant.revoked = true;
        return reply.code(record(204)).send();
      });
    },
  )) as FakeGitHub;

  return Object.assign(fake, { setKind: (k: GitHubAppKind) => void (kind = k), tokenAccepts, revocations, repos, api });
}
