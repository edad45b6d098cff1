// Fake Atlassian (Jira Cloud 3LO): authorize requires audience=api.atlassian.com and prompt=consent, the token
// endpoint takes a JSON body with the client creds in it, refresh tokens rotate (an old one presented again
// kills the grant) and dead ones answer 403, there is no revocation endpoint, and the API gateway answers
// /oauth/token/accessible-resources with the sites the grant covers. Under /ex/jira/{cloudId} it answers the calls the
// widgets make: a board's sprints (startAt paging), the enhanced JQL search (nextPageToken paging, only the JQL
// the widgets write, unbounded queries refused) and its approximate count, with Jira's `errorMessages` envelope,
// the gateway's scope check and 429 + Retry-After.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const JIRA_PATHS = { authorize: '/authorize', token: '/oauth/token', api: '/ex/jira/{cloudId}' };

export interface AtlassianSite {
  id: string;
  url: string;
  name: string;
  scopes: string[];
  avatarUrl: string;
}

export interface FakeJira extends FakeOAuthProvider {
  /** The sites accessible-resources lists for grants made from now on. */
  setSites(sites: AtlassianSite[]): void;
  /** Authorize requests refused for a missing audience or prompt. */
  refusedAuthorizations: { count: number };
  /** The Jira data every site of this fake answers with. */
  data: { projects: string[]; boards: Map<number, FakeSprint[]>; issues: FakeIssue[] };
  api: {
    calls: number;
    routeCalls: { sprints: number; search: number; count: number };
    delayMs: number;
    failures: { status: number; headers?: Record<string, string> }[];
    /** The JQL of every search and count, in order. */
    jql: string[];
  };
}

export interface FakeSprint {
  id: number;
  name: string;
  state: 'active' | 'future' | 'closed';
  startDate?: string;
  endDate?: string;
}

export const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'] as const;

export interface FakeIssue {
  key: string;
  sprintId?: number;
  status: 'To Do' | 'In Progress' | 'Done';
  priority?: (typeof PRIORITIES)[number];
}

const CATEGORY = { 'To Do': 'new', 'In Progress': 'indeterminate', Done: 'done' } as const;
const jiraError = (reply: FastifyReply, status: number, message: string) => reply.code(status).send({ errorMessages: [message], errors: {} });

/** The JQL the widgets write: clauses joined by AND, then an optional ORDER BY priority. Anything else is an error. */
function compileJql(jql: string, projects: string[]): { ok: true; match: (i: FakeIssue) => boolean; byPriority: boolean } | { ok: false; message: string } {
  const [where = '', order] = jql.split(/\s+ORDER BY\s+/i);
  if (!where.trim()) return { ok: false, message: 'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.' };
  if (order !== undefined && !/^priority (DESC|ASC)$/i.test(order.trim())) return { ok: false, message: `Error in the JQL Query: cannot order by '${order}'.` };
  const tests: ((i: FakeIssue) => boolean)[] = [];
  for (const clause of where.split(/\s+AND\s+/i)) {
    const m = /^(\w+)\s*(!=|=)\s*(?:"([^"]*)"|(\w+))$/.exec(clause.trim());
    if (!m) return { ok: false, message: `Error in the JQL Query: '${clause}' is not understood.` };
    const [, field, op, quoted, bare] = m;
    const value = quoted ?? bare!;
    const is = (actual: string | undefined) => (op === '=' ? actual === value : actual !== value);
    if (field === 'project') {
      if (!projects.includes(value)) return { ok: false, message: `The value '${value}' does not exist for the field 'project'.` };
      tests.push((i) => is(i.key.split('-')[0]));
    } else if (field === 'sprint') tests.push((i) => is(i.sprintId === undefined ? undefined : String(i.sprintId)));
    else if (field === 'statusCategory') tests.push((i) => is(i.status === 'Done' ? 'Done' : i.status === 'To Do' ? 'To Do' : 'In Progress'));
    else return { ok: false, message: `Field '${field}' does not exist or you do not have permission to view it.` };
  }
  return { ok: true, match: (i) => tests.every((t) => t(i)), byPriority: order !== undefined };
}

const site = (id: string, name: string, scopes: string[]): AtlassianSite => ({
  id,
  url: `https://${name}.atlassian.net`,
  name,
  scopes,
  avatarUrl: 'https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png',
});

/** A Confluence-only site first (the hub must skip it), then the Jira site, then a second Jira site. */
export const DEFAULT_SITES: AtlassianSite[] = [
  site('0d2a4b1c-0000-4000-8000-00000000c0f1', 'acme-wiki', ['read:confluence-content.all']),
  site('11223344-a1b2-4b33-c444-def123456789', 'acme', ['read:jira-work', 'read:jira-user']),
  site('99887766-f1e2-4d3c-b4a5-0a1b2c3d4e5f', 'acme-labs', ['read:jira-work']),
];

export async function startFakeJira(): Promise<FakeJira> {
  let sites = DEFAULT_SITES;
  const refusedAuthorizations = { count: 0 };
  const data: FakeJira['data'] = { projects: ['ACME'], boards: new Map(), issues: [] };
  const api: FakeJira['api'] = { calls: 0, routeCalls: { sprints: 0, search: 0, count: 0 }, delayMs: 0, failures: [], jql: [] };
  const base = '/ex/jira/:cloudId/rest';
  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'json',
      // PKCE is not documented for 3LO: the fake refuses it, so the hub never relies on it.
      pkce: 'unsupported',
      refresh: 'rotating',
      accessTtlSeconds: 3600,
      paths: { authorize: JIRA_PATHS.authorize, token: JIRA_PATHS.token },
      grantExtra: () => ({ sites }),
      // A dead or reused refresh token: 403 {"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}
      errorReply: ({ status, error, description }) =>
        error === 'invalid_grant'
          ? { status: 403, body: { error, error_description: /refresh/.test(description) ? 'Unknown or invalid refresh token.' : 'Invalid authorization code' } }
          : { status, body: { error, error_description: description } },
    },
    (app, provider) => {
      app.addHook('onRequest', async (req, reply) => {
        if (req.method !== 'GET' || req.url.split('?')[0] !== JIRA_PATHS.authorize) return;
        const q = req.query as Record<string, string | undefined>;
        if (q.audience !== 'api.atlassian.com' || q.prompt !== 'consent') {
          refusedAuthorizations.count++;
          return reply.code(400).type('text/plain').send('audience=api.atlassian.com and prompt=consent are required');
        }
      });
      app.get('/oauth/token/accessible-resources', async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ code: 401, message: 'Unauthorized' });
        return grant.extra.sites;
      });

      // The API gateway: queued failures first, then the token, the site (one of the grant's) and the scopes.
      app.addHook('onRequest', async (req, reply) => {
        if (!req.url.startsWith('/ex/jira/')) return;
        api.calls++;
        if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
        const failure = api.failures.shift();
        if (failure) return jiraError(reply.headers(failure.headers ?? {}), failure.status, failure.status === 429 ? 'Rate limit exceeded.' : 'Internal server error.');
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ code: 401, message: 'Unauthorized' });
        const cloudId = req.url.split('/')[3];
        const scopes = grant.scope.split(' ');
        const needed = req.url.includes('/rest/agile/') ? ['read:sprint:jira-software', 'read:board-scope:jira-software'] : ['read:jira-work'];
        if (!(grant.extra.sites as AtlassianSite[]).some((s) => s.id === cloudId) || !needed.every((n) => scopes.includes(n))) {
          return reply.code(401).send({ code: 401, message: 'Unauthorized; scope does not match' });
        }
      });

      app.get(`${base}/agile/1.0/board/:boardId/sprint`, async (req, reply) => {
        api.routeCalls.sprints++;
        const sprints = data.boards.get(Number((req.params as { boardId: string }).boardId));
        if (!sprints) return jiraError(reply, 404, 'Board does not exist or you do not have permission to see it.');
        const q = req.query as { state?: string; startAt?: string; maxResults?: string };
        const states = q.state ? q.state.split(',') : ['active', 'future', 'closed'];
        const matching = sprints.filter((s) => states.includes(s.state));
        const startAt = Number(q.startAt ?? 0);
        const maxResults = Math.min(Number(q.maxResults ?? 50), 50);
        const values = matching.slice(startAt, startAt + maxResults).map((s) => ({ ...s, self: `https://acme.atlassian.net/rest/agile/1.0/sprint/${s.id}`, originBoardId: 1 }));
        return { maxResults, startAt, isLast: startAt + maxResults >= matching.length, values };
      });

      const search = (req: FastifyRequest, reply: FastifyReply) => {
        const body = (req.body ?? {}) as { jql?: string };
        api.jql.push(body.jql ?? '');
        const compiled = compileJql(body.jql ?? '', data.projects);
        if (!compiled.ok) {
          void jiraError(reply, 400, compiled.message);
          return undefined;
        }
        const found = data.issues.filter(compiled.match);
        const rank = (i: FakeIssue) => (i.priority ? PRIORITIES.indexOf(i.priority) : PRIORITIES.length);
        return compiled.byPriority ? found.sort((a, b) => rank(a) - rank(b)) : found;
      };

      app.post(`${base}/api/3/search/jql`, async (req, reply) => {
        api.routeCalls.search++;
        const found = search(req, reply);
        if (!found) return reply;
        const body = req.body as { fields?: string[]; maxResults?: number; nextPageToken?: string };
        const offset = body.nextPageToken ? Number(Buffer.from(body.nextPageToken, 'base64url').toString()) : 0;
        if (!Number.isInteger(offset)) return jiraError(reply, 400, 'The nextPageToken is invalid.');
        // At most 100 issues a page when fields are asked for (5,000 for ids and keys only).
        const size = Math.min(body.maxResults ?? 50, 100);
        const page = found.slice(offset, offset + size);
        const next = offset + size < found.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined;
        const fields = (i: FakeIssue) => ({
          ...(body.fields?.includes('status') ? { status: { name: i.status, statusCategory: { id: 2, key: CATEGORY[i.status], name: i.status } } } : {}),
          ...(body.fields?.includes('priority') ? { priority: i.priority ? { id: String(PRIORITIES.indexOf(i.priority) + 1), name: i.priority } : null } : {}),
        });
        return { issues: page.map((i, n) => ({ id: String(10_000 + offset + n), key: i.key, self: `https://acme.atlassian.net/rest/api/3/issue/${i.key}`, fields: fields(i) })), ...(next ? { nextPageToken: next } : {}), isLast: !next };
      });

      app.post(`${base}/api/3/search/approximate-count`, async (req, reply) => {
        api.routeCalls.count++;
        const found = search(req, reply);
        return found ? { count: found.length } : reply;
      });
    },
  )) as FakeJira;
  return Object.assign(fake, { setSites: (s: AtlassianSite[]) => void (sites = s), refusedAuthorizations, data, api });
}
