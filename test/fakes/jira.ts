// Fake Atlassian (Jira Cloud 3LO): authorize requires audience=api.atlassian.com and prompt=consent, the token
// endpoint takes a JSON body with the client creds in it, refresh tokens rotate (an old one presented again
// kills the grant) and dead ones answer 403, there is no revocation endpoint, and the API gateway answers
// /oauth/token/accessible-resources with the sites the grant covers. Under /ex/jira/{cloudId} it answers the calls the
// widgets make: a board's sprints (startAt paging), the enhanced JQL search (nextPageToken paging, only the JQL
// the widgets write, unbounded queries refused) and its approximate count, with Jira's `errorMessages` envelope,
// the gateway's scope check and 429 + Retry-After. App ("dynamic") webhooks: register (one URL per app, issue
// events only, ids counted per site, 30-day expiry), list, refresh and delete, behind manage:jira-webhook; and
// `appDelivery` builds a delivery as Jira sends one to them (matchedWebhookIds, a bearer JWT signed HS256 with the
// app's client secret, the X-Atlassian-Webhook-* headers).
import { createHmac, randomUUID } from 'node:crypto';
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
  /** App webhooks registered through the REST API, on every site. */
  webhooks: FakeJiraWebhook[];
  webhookCalls: { register: number; list: number; refresh: number; delete: number };
  /** A delivery of `event` on `site` to the app's webhooks, as Jira sends it (see AppDeliveryOptions). */
  appDelivery(site: AtlassianSite, event: string, body: Record<string, unknown>, options?: AppDeliveryOptions): FakeDelivery;
}

export interface FakeJiraWebhook {
  id: number;
  siteId: string;
  url: string;
  events: string[];
  jqlFilter: string;
  expiresAt: number;
}

export interface AppDeliveryOptions {
  /** X-Atlassian-Webhook-Identifier (the same on a retry). */
  identifier?: string;
  retry?: number;
  /** Signs the JWT with this instead of the client secret. */
  secret?: string;
  /** Seconds from now the JWT expires (negative: already expired). */
  expiresIn?: number;
  /** Overrides the matched webhook ids (default: the app's webhooks on the site taking the event). */
  matchedWebhookIds?: number[];
}

export interface FakeDelivery {
  body: string;
  headers: Record<string, string>;
  /** The query Jira appends to the webhook URL. */
  path: string;
  identifier: string;
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
/** The events an app may register a webhook for (issue-scoped: each is filtered by the webhook's JQL). */
const APP_WEBHOOK_EVENTS = ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted', 'comment_created', 'comment_updated', 'comment_deleted', 'issue_property_set', 'issue_property_deleted'];
const WEBHOOK_LIFETIME_MS = 30 * 86_400_000;
const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** An HS256 JWT, built by hand (independently of the hub's verifier) the way Atlassian signs app webhooks. */
function hs256(claims: Record<string, unknown>, secret: string): string {
  const signingInput = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}
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
  const webhooks: FakeJiraWebhook[] = [];
  const webhookCalls: FakeJira['webhookCalls'] = { register: 0, list: 0, refresh: 0, delete: 0 };
  /** Webhook ids count per site (never reused), so two sites hand out the same ids. */
  const lastWebhookId = new Map<string, number>();
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
        const needed = req.url.includes('/rest/agile/')
          ? ['read:sprint:jira-software', 'read:board-scope:jira-software']
          : /\/rest\/api\/3\/webhook(\/|\?|$)/.test(req.url) ? ['manage:jira-webhook'] : ['read:jira-work'];
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

      // App webhooks. Jira answers each registration in webhookRegistrationResult, errors included.
      const cloudOf = (req: FastifyRequest) => (req.params as { cloudId: string }).cloudId;
      const idsOf = (req: FastifyRequest) => {
        const ids = (req.body as { webhookIds?: unknown } | undefined)?.webhookIds;
        return Array.isArray(ids) && ids.every((id) => Number.isInteger(id)) ? (ids as number[]) : undefined;
      };
      app.post(`${base}/api/3/webhook`, async (req, reply) => {
        webhookCalls.register++;
        const body = (req.body ?? {}) as { url?: unknown; webhooks?: unknown };
        if (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url) || !Array.isArray(body.webhooks) || body.webhooks.length === 0) {
          return jiraError(reply, 400, 'A url and at least one webhook are required.');
        }
        const siteId = cloudOf(req);
        const onSite = webhooks.filter((w) => w.siteId === siteId);
        if (onSite.some((w) => w.url !== body.url)) return jiraError(reply, 400, 'Only a single URL per app is allowed to be registered.');
        const webhookRegistrationResult = (body.webhooks as { events?: unknown; jqlFilter?: unknown }[]).map((w) => {
          const events = Array.isArray(w.events) ? (w.events as string[]) : [];
          const unsupported = events.filter((e) => !APP_WEBHOOK_EVENTS.includes(e));
          if (events.length === 0 || unsupported.length > 0) return { errors: [`Unsupported or missing events: ${unsupported.join(', ') || 'none'}`] };
          if (typeof w.jqlFilter !== 'string' || !w.jqlFilter.trim() || /order by/i.test(w.jqlFilter)) return { errors: ['The JQL filter is invalid or unsupported.'] };
          const id = (lastWebhookId.get(siteId) ?? 0) + 1;
          lastWebhookId.set(siteId, id);
          webhooks.push({ id, siteId, url: body.url as string, events, jqlFilter: w.jqlFilter, expiresAt: Date.now() + WEBHOOK_LIFETIME_MS });
          return { createdWebhookId: id };
        });
        return { webhookRegistrationResult };
      });

      app.get(`${base}/api/3/webhook`, async (req) => {
        webhookCalls.list++;
        const q = req.query as { startAt?: string; maxResults?: string };
        const startAt = Number(q.startAt ?? 0);
        const maxResults = Math.min(Number(q.maxResults ?? 50), 100);
        const mine = webhooks.filter((w) => w.siteId === cloudOf(req));
        const values = mine.slice(startAt, startAt + maxResults).map((w) => ({ id: w.id, jqlFilter: w.jqlFilter, events: w.events, expirationDate: w.expiresAt, url: w.url }));
        return { startAt, maxResults, total: mine.length, isLast: startAt + maxResults >= mine.length, values };
      });

      // Unknown ids (gone, or another app's) are ignored; the answer is the new expiry all the same.
      app.put(`${base}/api/3/webhook/refresh`, async (req, reply) => {
        webhookCalls.refresh++;
        const ids = idsOf(req);
        if (!ids) return jiraError(reply, 400, 'webhookIds must be a list of webhook ids.');
        const expirationDate = Date.now() + WEBHOOK_LIFETIME_MS;
        for (const w of webhooks) if (w.siteId === cloudOf(req) && ids.includes(w.id)) w.expiresAt = expirationDate;
        return { expirationDate };
      });

      app.delete(`${base}/api/3/webhook`, async (req, reply) => {
        webhookCalls.delete++;
        const ids = idsOf(req);
        if (!ids) return jiraError(reply, 400, 'webhookIds must be a list of webhook ids.');
        for (let i = webhooks.length - 1; i >= 0; i--) if (webhooks[i]!.siteId === cloudOf(req) && ids.includes(webhooks[i]!.id)) webhooks.splice(i, 1);
        return reply.code(202).send();
      });

      app.post(`${base}/api/3/search/approximate-count`, async (req, reply) => {
        api.routeCalls.count++;
        const found = search(req, reply);
        return found ? { count: found.length } : reply;
      });
    },
  )) as FakeJira;

  function appDelivery(on: AtlassianSite, event: string, body: Record<string, unknown>, options: AppDeliveryOptions = {}): FakeDelivery {
    const matched = options.matchedWebhookIds ?? webhooks.filter((w) => w.siteId === on.id && w.events.includes(event) && w.expiresAt > Date.now()).map((w) => w.id);
    const now = Math.floor(Date.now() / 1000);
    const accountId = '5b10ac8d82e05b22cc7d4ef5';
    const token = hs256(
      { iss: fake.clientId, sub: accountId, iat: now, exp: now + (options.expiresIn ?? 180), jti: randomUUID(), context: {} },
      options.secret ?? fake.clientSecret,
    );
    const identifier = options.identifier ?? String(Math.floor(Math.random() * 1e12));
    return {
      body: JSON.stringify({ timestamp: Date.now(), webhookEvent: event, ...body, matchedWebhookIds: matched }),
      headers: {
        'content-type': 'application/json; charset=utf-8',
        authorization: `Bearer ${token}`,
        'x-atlassian-webhook-identifier': identifier,
        'x-atlassian-webhook-retry': String(options.retry ?? 0),
        'x-atlassian-webhook-flow': 'Primary',
        'user-agent': 'Atlassian Webhook HTTP Client',
      },
      path: `?triggeredByUser=${accountId}`,
      identifier,
    };
  }

  return Object.assign(fake, { setSites: (s: AtlassianSite[]) => void (sites = s), refusedAuthorizations, data, api, webhooks, webhookCalls, appDelivery });
}
