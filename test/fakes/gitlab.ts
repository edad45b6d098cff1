// Fake GitLab (Doorkeeper): creds in the form body, optional S256 PKCE, 2-hour tokens carrying `created_at`,
// refresh tokens that rotate on every use, RFC 7009 revocation with client creds in the body, /api/v4/user, the
// user's projects (`GET /projects?membership=true`, read at connect for webhook routing), and the project routes the
// widgets read (merge_requests, pipelines) with offset pagination (`x-next-page`, `x-total`,
// Link), `RateLimit-*` headers, the `read_api` scope checked, and GitLab's `{ message }` / `insufficient_scope` errors.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const GITLAB_PATHS = { authorize: '/oauth/authorize', token: '/oauth/token', revoke: '/oauth/revoke', api: '/api/v4' };

export interface FakeGitLab extends FakeOAuthProvider {
  /** Token-answer quirks, changeable between tests: some GitLab versions omit expires_in (gitlab#360729). */
  quirks: { omitExpiresIn: boolean; createdAtOffsetSeconds: number };
  /** Projects the widgets read, found by id or full path; any other answers 404. */
  projects: FakeProject[];
  api: {
    calls: number;
    routeCalls: { mergeRequests: number; pipelines: number };
    delayMs: number;
    failures: { status: number; headers?: Record<string, string> }[];
    /** Calls left this minute, sent as RateLimit-Remaining (2,000 a minute on gitlab.com). */
    rateLimitRemaining: number;
  };
}

export interface FakeProject {
  id: number;
  path: string;
  /** Whether the user is a member (listed by `GET /projects?membership=true`); default true. */
  member?: boolean;
  mergeRequests: { iid: number; title: string; author: string; createdAt: string; draft?: boolean; conflicts?: boolean; mergeStatus?: string; source?: string; target?: string }[];
  pipelines: { id: number; ref: string; status: string; updatedAt: string }[];
}

// Doorkeeper's wording for its errors.
const DESCRIPTIONS: Record<string, string> = {
  invalid_grant:
    'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  invalid_client: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
};

export async function startFakeGitLab(options: { user?: { id: number; username: string; name: string } } = {}): Promise<FakeGitLab> {
  const user = options.user ?? { id: 4242, username: 'cto', name: 'Chief Technology Officer' };
  const quirks = { omitExpiresIn: false, createdAtOffsetSeconds: 0 };
  const projects: FakeProject[] = [];
  const api: FakeGitLab['api'] = { calls: 0, routeCalls: { mergeRequests: 0, pipelines: 0 }, delayMs: 0, failures: [], rateLimitRemaining: 2000 };
  const web = (p: FakeProject, path: string) => `https://gitlab.example.com/${p.path}/-/${path}`;

  /** One page in GitLab's offset style: `page`/`per_page` (at most 100), x-* headers and a Link header. */
  function paginate<T>(req: FastifyRequest, reply: FastifyReply, all: T[]): T[] {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 20), 1), 100);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
    const pages = Math.max(Math.ceil(all.length / perPage), 1);
    const link = (n: number, rel: string) => {
      url.searchParams.set('page', String(n));
      return `<${url.toString()}>; rel="${rel}"`;
    };
    void reply.headers({
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-next-page': page < pages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      // Like gitlab.com, totals are left out past 10,000 rows.
      ...(all.length <= 10_000 ? { 'x-total': String(all.length), 'x-total-pages': String(pages) } : {}),
      link: [...(page < pages ? [link(page + 1, 'next')] : []), link(1, 'first'), link(pages, 'last')].join(', '),
    });
    return all.slice((page - 1) * perPage, page * perPage);
  }
  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'form',
      pkce: 'optional',
      refresh: 'rotating',
      accessTtlSeconds: 7200,
      paths: GITLAB_PATHS,
      revokeAuth: 'body',
      tokenBody: ({ grant }) => ({
        access_token: grant.accessToken,
        token_type: 'Bearer',
        ...(quirks.omitExpiresIn ? {} : { expires_in: 7200 }),
        refresh_token: grant.refreshToken,
        scope: grant.scope,
        created_at: Math.floor(Date.now() / 1000) + quirks.createdAtOffsetSeconds,
      }),
      errorReply: ({ status, error, description }) => ({ status, body: { error, error_description: DESCRIPTIONS[error] ?? description } }),
    },
    (app, provider) => {
      app.get(`${GITLAB_PATHS.api}/user`, async (req, reply) => {
        if (!provider.grantOfAccessToken(bearerToken(req))) return reply.code(401).send({ message: '401 Unauthorized' });
        return { id: user.id, username: user.username, name: user.name, state: 'active', web_url: `https://gitlab.example.com/${user.username}` };
      });

      // The user's projects, as `simple=true` answers them, offset-paginated. Like GitLab, read_api (or api) is needed.
      app.get(`${GITLAB_PATHS.api}/projects`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ message: '401 Unauthorized' });
        if (!grant.scope.split(' ').some((s) => s === 'read_api' || s === 'api')) {
          return reply.code(403).send({ error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token.', scope: 'api read_api' });
        }
        const q = req.query as Record<string, string | undefined>;
        const listed = q.membership === 'true' ? projects.filter((p) => p.member !== false) : projects;
        return paginate(req, reply, listed).map((p) => ({
          id: p.id,
          name: p.path.split('/').at(-1),
          path: p.path.split('/').at(-1),
          path_with_namespace: p.path,
          web_url: `https://gitlab.example.com/${p.path}`,
          ...(q.simple === 'true' ? {} : { visibility: 'private', archived: false }),
        }));
      });

      app.addHook('onRequest', async (req, reply) => {
        if (!req.url.startsWith(`${GITLAB_PATHS.api}/projects/`)) return;
        api.calls++;
        if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
        const reset = String(Math.ceil(Date.now() / 60_000) * 60);
        const failure = api.failures.shift();
        if (failure) {
          // gitlab.com throttles with a plain-text "Retry later".
          if (failure.status === 429) return reply.code(429).type('text/plain').headers({ 'ratelimit-limit': '2000', 'ratelimit-remaining': '0', 'ratelimit-reset': reset, ...failure.headers }).send('Retry later\n');
          return reply.code(failure.status).headers(failure.headers ?? {}).send({ message: '500 Internal Server Error' });
        }
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ message: '401 Unauthorized' });
        if (!grant.scope.split(' ').some((s) => s === 'read_api' || s === 'api')) {
          return reply.code(403).send({ error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token.', scope: 'api read_api' });
        }
        api.rateLimitRemaining = Math.max(api.rateLimitRemaining - 1, 0);
        void reply.headers({ 'ratelimit-limit': '2000', 'ratelimit-remaining': String(api.rateLimitRemaining), 'ratelimit-reset': reset });
      });

      const projectOf = (req: FastifyRequest) => {
        // A full path arrives URL-encoded as one segment (group%2Fproject): Fastify hands it over decoded.
        const key = (req.params as { id: string }).id;
        return projects.find((p) => String(p.id) === key || p.path === key);
      };
      const notFound = (reply: FastifyReply) => reply.code(404).send({ message: '404 Project Not Found' });

      app.get(`${GITLAB_PATHS.api}/projects/:id/merge_requests`, async (req, reply) => {
        api.routeCalls.mergeRequests++;
        const project = projectOf(req);
        if (!project) return notFound(reply);
        const q = req.query as Record<string, string | undefined>;
        const open = q.state === 'opened' || q.state === 'all' || !q.state ? project.mergeRequests : [];
        const sorted = [...open].sort((a, b) => (Date.parse(b.createdAt) - Date.parse(a.createdAt)) * (q.sort === 'asc' ? -1 : 1));
        return paginate(req, reply, sorted).map((mr) => ({
          id: project.id * 100_000 + mr.iid,
          iid: mr.iid,
          project_id: project.id,
          title: mr.title,
          state: 'opened',
          draft: mr.draft ?? false,
          work_in_progress: mr.draft ?? false,
          author: { id: 1, username: mr.author, name: mr.author },
          source_branch: mr.source ?? `feature-${mr.iid}`,
          target_branch: mr.target ?? 'main',
          has_conflicts: mr.conflicts ?? false,
          detailed_merge_status: mr.mergeStatus ?? 'mergeable',
          created_at: mr.createdAt,
          updated_at: mr.createdAt,
          web_url: web(project, `merge_requests/${mr.iid}`),
        }));
      });

      app.get(`${GITLAB_PATHS.api}/projects/:id/pipelines`, async (req, reply) => {
        api.routeCalls.pipelines++;
        const project = projectOf(req);
        if (!project) return notFound(reply);
        const q = req.query as Record<string, string | undefined>;
        if (q.updated_after && Number.isNaN(Date.parse(q.updated_after))) return reply.code(400).send({ message: '400 Bad request - updated_after is invalid', error: 'updated_after is invalid' });
        const after = q.updated_after ? Date.parse(q.updated_after) : 0;
        const found = project.pipelines
          .filter((pl) => Date.parse(pl.updatedAt) > after && (!q.ref || pl.ref === q.ref) && (!q.status || pl.status === q.status))
          .sort((a, b) => (q.order_by === 'updated_at' ? Date.parse(b.updatedAt) - Date.parse(a.updatedAt) : b.id - a.id));
        return paginate(req, reply, found).map((pl) => ({
          id: pl.id,
          iid: pl.id,
          project_id: project.id,
          sha: 'c'.repeat(40),
          ref: pl.ref,
          status: pl.status,
          source: 'push',
          created_at: pl.updatedAt,
          updated_at: pl.updatedAt,
          web_url: web(project, `pipelines/${pl.id}`),
        }));
      });
    },
  )) as FakeGitLab;
  return Object.assign(fake, { quirks, projects, api });
}
