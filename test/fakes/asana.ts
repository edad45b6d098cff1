// Fake Asana: OAuth with client credentials in a form body, S256 PKCE, 1-hour tokens, a token answer naming the
// user under `data`, refresh tokens kept on refresh (⚠ or rotated, when told to), form-encoded /-/oauth_revoke,
// GET /api/1.0/users/me with the user's workspaces, and the calls the widgets make (tasks, projects, task_counts)
// with opt_fields, offset paging (`next_page`) and Asana's `{ errors: [{ message }] }` envelope; webhooks as
// Asana runs them: POST /webhooks answers only after its X-Hook-Secret handshake with the target was echoed,
// larger-scoped resources refuse task filters, deliveries are signed with X-Hook-Signature (hex HMAC-SHA256 of
// the body with the hook's secret), heartbeats carry no events, DELETE /webhooks/{gid}.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, contentTypeOf, forwardedUrl, type HubForwarding } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const ASANA_PATHS = { authorize: '/-/oauth_authorize', token: '/-/oauth_token', revoke: '/-/oauth_revoke', api: '/api/1.0' };

export interface AsanaUser {
  gid: string;
  name: string;
  email: string;
  workspaces: { gid: string; name: string }[];
}

export interface FakeAsanaTask {
  gid: string;
  name: string;
  completed?: boolean;
  due_on?: string;
  due_at?: string;
  /** `me` in assignee queries is the connecting user: give their gid here. */
  assigneeGid?: string;
  assigneeName?: string;
  projectGids?: string[];
  workspaceGid?: string;
}

export interface FakeAsanaApi {
  calls: number;
  tasksCalls: number;
  projectCalls: number;
  delayMs: number;
  failures: { status: number; headers?: Record<string, string> }[];
}

export interface FakeAsanaWebhook {
  gid: string;
  resource: { gid: string; resource_type: string };
  target: string;
  filters: unknown[];
  /** The X-Hook-Secret of the handshake: the key of every delivery's signature. */
  secret: string;
  userGid: string;
}

export interface FakeAsanaWebhooks {
  webhooks: Map<string, FakeAsanaWebhook>;
  /** Every handshake made and how the target answered. */
  handshakes: { target: string; status: number; echoed: string | null; secret: string }[];
  webhookCalls: { creates: number; deletes: number };
  /** The user task list ("My Tasks") of a user in a workspace. */
  userTaskListOf(userGid: string, workspaceGid: string): string;
  forwardHub(publicOrigin: string, localOrigin: string): void;
  /** A delivery of these events as Asana signs it (for tests that tamper with it). */
  signedDelivery(webhookGid: string, events: unknown[]): { body: string; headers: Record<string, string> };
  /** Sends events (none: a heartbeat) to the webhook's target; resolves to the hub's status. */
  deliver(webhookGid: string, events: unknown[]): Promise<number>;
  /** POSTs a delivery to a hub URL (a raw delivery). */
  postToHub(url: string, delivery: { body: string; headers: Record<string, string> }): Promise<number>;
}

/** Filters a workspace- or team-scoped webhook may use (Asana refuses task filters there). */
const LARGE_SCOPE_TYPES = new Set(['project', 'team', 'portfolio', 'tag', 'user', 'workspace', 'goal']);

function addWebhookRoutes(app: FastifyInstance, provider: FakeOAuthProvider, state: Pick<FakeAsana, 'projects'> & FakeAsanaWebhooks & { hub: HubForwarding; lists: Map<string, string> }) {
  const hubUrl = (url: string) => forwardedUrl(state.hub, url);
  const userOf = (req: FastifyRequest) => provider.grantOfAccessToken(bearerToken(req))!.extra as unknown as AsanaUser;
  const granted = (req: FastifyRequest, scope: string) => {
    const scopes = provider.grantOfAccessToken(bearerToken(req))!.scope.split(' ');
    return scopes.includes('default') || scopes.includes(scope);
  };

  app.get(`${ASANA_PATHS.api}/users/:user/user_task_list`, async (req, reply) => {
    const user = userOf(req);
    const { user: named } = req.params as { user: string };
    const workspace = (req.query as Record<string, string>).workspace;
    if (named !== 'me' && named !== user.gid) return asanaError(reply, 403, 'Forbidden');
    if (!workspace) return asanaError(reply, 400, 'workspace: Missing input');
    if (!user.workspaces.some((w) => w.gid === workspace)) return asanaError(reply, 404, `workspace: Unknown object: ${workspace}`);
    return { data: { gid: state.userTaskListOf(user.gid, workspace), resource_type: 'user_task_list', name: 'My Tasks', owner: { gid: user.gid, resource_type: 'user' }, workspace: { gid: workspace, resource_type: 'workspace' } } };
  });

  /** The handshake: POST to the target with X-Hook-Secret; 200 or 204 echoing the same header, within 10 s. */
  async function handshake(target: string): Promise<string | undefined> {
    const secret = randomBytes(16).toString('hex');
    try {
      const res = await fetch(hubUrl(target), { method: 'POST', headers: { 'x-hook-secret': secret }, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      const echoed = res.headers.get('x-hook-secret');
      state.handshakes.push({ target, status: res.status, echoed, secret });
      return (res.status === 200 || res.status === 204) && echoed === secret ? secret : undefined;
    } catch {
      state.handshakes.push({ target, status: 0, echoed: null, secret });
      return undefined;
    }
  }

  function resourceOf(gid: string, user: AsanaUser): { gid: string; resource_type: string } | undefined {
    if (state.projects.has(gid)) return { gid, resource_type: 'project' };
    if (user.workspaces.some((w) => w.gid === gid)) return { gid, resource_type: 'workspace' };
    if (user.workspaces.some((w) => state.lists.get(`${user.gid}:${w.gid}`) === gid)) return { gid, resource_type: 'user_task_list' };
    return undefined;
  }

  app.post(`${ASANA_PATHS.api}/webhooks`, async (req, reply) => {
    state.webhookCalls.creates++;
    if (!granted(req, 'webhooks:write')) return asanaError(reply, 403, 'The token does not have the required scope: webhooks:write');
    const data = ((req.body ?? {}) as { data?: Record<string, unknown> }).data ?? {};
    const user = userOf(req);
    if (typeof data.resource !== 'string' || typeof data.target !== 'string') return asanaError(reply, 400, 'resource, target: Missing input');
    const resource = resourceOf(data.resource, user);
    if (!resource) return asanaError(reply, 404, `resource: Unknown object: ${data.resource}`);
    let target: URL;
    try {
      target = new URL(data.target);
    } catch {
      return asanaError(reply, 400, 'target: Invalid URL');
    }
    if (['localhost', '127.0.0.1', '[::1]'].includes(target.hostname)) return asanaError(reply, 403, 'target: localhost targets are not allowed');
    const filters = Array.isArray(data.filters) ? (data.filters as { resource_type?: string }[]) : [];
    if (resource.resource_type === 'workspace' && (!filters.length || filters.some((f) => !LARGE_SCOPE_TYPES.has(String(f.resource_type))))) {
      return reply.code(400).send({ errors: [{ error: 'invalid_filters_for_larger_scoped_webhooks', message: 'Webhooks for larger scoped resources must have at least one filter and all filters must be in our whitelist.' }] });
    }
    const secret = await handshake(data.target);
    if (!secret) return asanaError(reply, 400, 'Could not complete the handshake with the target: the X-Hook-Secret was not echoed.');
    const webhook: FakeAsanaWebhook = { gid: gid(), resource, target: data.target, filters, secret, userGid: user.gid };
    state.webhooks.set(webhook.gid, webhook);
    return reply.code(201).send({
      data: { gid: webhook.gid, resource_type: 'webhook', active: true, resource: webhook.resource, target: webhook.target, filters, created_at: new Date().toISOString(), last_failure_at: null, last_failure_content: '', last_success_at: null },
    });
  });

  app.delete(`${ASANA_PATHS.api}/webhooks/:gid`, async (req, reply) => {
    state.webhookCalls.deletes++;
    if (!granted(req, 'webhooks:delete')) return asanaError(reply, 403, 'The token does not have the required scope: webhooks:delete');
    const webhook = state.webhooks.get((req.params as { gid: string }).gid);
    if (!webhook || webhook.userGid !== userOf(req).gid) return asanaError(reply, 404, `webhook: Unknown object: ${(req.params as { gid: string }).gid}`);
    state.webhooks.delete(webhook.gid);
    return { data: {} };
  });

  state.signedDelivery = (id, events) => {
    const webhook = state.webhooks.get(id);
    if (!webhook) throw new Error(`no webhook ${id}`);
    const body = JSON.stringify({ events });
    return { body, headers: { 'content-type': 'application/json; charset=UTF-8', 'x-hook-signature': createHmac('sha256', webhook.secret).update(body).digest('hex') } };
  };
  state.postToHub = async (url, delivery) => {
    const res = await fetch(hubUrl(url), { method: 'POST', headers: delivery.headers, body: delivery.body });
    await res.arrayBuffer();
    return res.status;
  };
  state.deliver = (id, events) => state.postToHub(state.webhooks.get(id)?.target ?? '', state.signedDelivery(id, events));
  state.forwardHub = (publicOrigin, localOrigin) => void Object.assign(state.hub, { publicOrigin, localOrigin });
}

export interface FakeAsana extends FakeOAuthProvider, FakeAsanaWebhooks {
  /** Tasks and projects every connection of this fake sees. */
  tasks: FakeAsanaTask[];
  projects: Map<string, { name: string }>;
  api: FakeAsanaApi;
  nextUser(user: Partial<AsanaUser>): void;
  /** Whether a refresh answer carries a new refresh token (PROVIDERS.md ⚠: Asana is believed not to rotate). */
  setRotation(rotate: boolean): void;
}

const gid = () => String(randomInt(1e12, 9e12));

const asanaError = (reply: FastifyReply, status: number, message: string, headers: Record<string, string> = {}) =>
  reply.code(status).headers(headers).send({ errors: [{ message, help: 'For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors' }] });

/** The granular scope each route needs; a `default` grant (full access) covers all. */
function scopeFor(path: string): string | undefined {
  if (path === `${ASANA_PATHS.api}/users/me`) return 'users:read';
  if (path === `${ASANA_PATHS.api}/tasks`) return 'tasks:read';
  if (path.startsWith(`${ASANA_PATHS.api}/projects/`)) return 'projects:read';
  return undefined;
}

const OPT_FIELDS: Record<string, (t: FakeAsanaTask) => [string, unknown]> = {
  name: (t) => ['name', t.name],
  completed: (t) => ['completed', Boolean(t.completed)],
  due_on: (t) => ['due_on', t.due_on ?? (t.due_at ? t.due_at.slice(0, 10) : null)],
  due_at: (t) => ['due_at', t.due_at ?? null],
  permalink_url: (t) => ['permalink_url', `https://app.asana.com/0/0/${t.gid}`],
  'assignee.name': (t) => ['assignee', t.assigneeGid ? { gid: t.assigneeGid, resource_type: 'user', name: t.assigneeName ?? 'Someone' } : null],
};

function addApiRoutes(app: FastifyInstance, provider: FakeOAuthProvider, state: Pick<FakeAsana, 'tasks' | 'projects' | 'api'>) {
  const { api } = state;
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!path.startsWith(`${ASANA_PATHS.api}/`)) return;
    api.calls++;
    if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
    const failure = api.failures.shift();
    if (failure) return asanaError(reply, failure.status, failure.status === 429 ? "You've made too many requests and hit a rate limit. Please retry after the given amount of time." : 'Server Error', failure.headers);
    const grant = provider.grantOfAccessToken(bearerToken(req));
    if (!grant) return asanaError(reply, 401, 'Not Authorized');
    const needed = scopeFor(path);
    const granted = grant.scope.split(' ');
    if (needed && !granted.includes('default') && !granted.includes(needed)) return asanaError(reply, 403, `The token does not have the required scope: ${needed}`);
  });

  app.get(`${ASANA_PATHS.api}/tasks`, async (req, reply) => {
    api.tasksCalls++;
    const q = req.query as Record<string, string>;
    const byProject = q.project !== undefined;
    const byAssignee = q.assignee !== undefined && q.workspace !== undefined;
    if (byProject === byAssignee) return asanaError(reply, 400, 'Must specify exactly one of project, tag, section, user task list, or assignee + workspace');
    if (byProject && !state.projects.has(q.project!)) return asanaError(reply, 404, `project: Unknown object: ${q.project}`);
    const me = provider.grantOfAccessToken(bearerToken(req))!.extra as { gid: string };
    const assignee = q.assignee === 'me' ? me.gid : q.assignee;
    const limit = q.limit === undefined ? undefined : Number(q.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) return asanaError(reply, 400, 'limit: Value is not a number or is out of range');
    let start = 0;
    if (q.offset) {
      const decoded = /^o:(\d+)$/.exec(Buffer.from(q.offset, 'base64url').toString('utf8'));
      if (!decoded) return asanaError(reply, 400, 'offset: Your pagination token is invalid.');
      start = Number(decoded[1]);
    }
    const matching = state.tasks.filter(
      (t) => (byProject ? t.projectGids?.includes(q.project!) : t.assigneeGid === assignee && t.workspaceGid === q.workspace) && !(q.completed_since === 'now' && t.completed),
    );
    const size = limit ?? matching.length;
    const page = matching.slice(start, start + size);
    const fields = (q.opt_fields ?? 'name').split(',');
    const data = page.map((t) => ({ gid: t.gid, resource_type: 'task', ...Object.fromEntries(fields.filter((f) => OPT_FIELDS[f]).map((f) => OPT_FIELDS[f]!(t))) }));
    let nextPage = null;
    if (limit !== undefined && start + size < matching.length) {
      const offset = Buffer.from(`o:${start + size}`).toString('base64url');
      const path = `/tasks?${new URLSearchParams({ ...q, offset }).toString()}`;
      nextPage = { offset, path, uri: `https://app.asana.com/api/1.0${path}` };
    }
    return { data, next_page: nextPage };
  });

  app.get(`${ASANA_PATHS.api}/projects/:gid`, async (req, reply) => {
    api.projectCalls++;
    const { gid: projectGid } = req.params as { gid: string };
    const project = state.projects.get(projectGid);
    if (!project) return asanaError(reply, 404, `project: Unknown object: ${projectGid}`);
    return { data: { gid: projectGid, resource_type: 'project', name: project.name, permalink_url: `https://app.asana.com/0/${projectGid}/list` } };
  });

  app.get(`${ASANA_PATHS.api}/projects/:gid/task_counts`, async (req, reply) => {
    api.projectCalls++;
    const { gid: projectGid } = req.params as { gid: string };
    if (!state.projects.has(projectGid)) return asanaError(reply, 404, `project: Unknown object: ${projectGid}`);
    const tasks = state.tasks.filter((t) => t.projectGids?.includes(projectGid));
    const done = tasks.filter((t) => t.completed).length;
    const counts: Record<string, number> = { num_tasks: tasks.length, num_completed_tasks: done, num_incomplete_tasks: tasks.length - done, num_milestones: 0, num_completed_milestones: 0, num_incomplete_milestones: 0 };
    // All fields are excluded unless asked for by name.
    const asked = ((req.query as Record<string, string>).opt_fields ?? '').split(',').filter((f) => f in counts);
    return { data: Object.fromEntries(asked.map((f) => [f, counts[f]])) };
  });
}

export async function startFakeAsana(): Promise<FakeAsana> {
  const state: Pick<FakeAsana, 'tasks' | 'projects' | 'api'> = {
    tasks: [],
    projects: new Map(),
    api: { calls: 0, tasksCalls: 0, projectCalls: 0, delayMs: 0, failures: [] },
  };
  const lists = new Map<string, string>();
  const hooks = {
    webhooks: new Map<string, FakeAsanaWebhook>(),
    handshakes: [],
    webhookCalls: { creates: 0, deletes: 0 },
    userTaskListOf(userGid: string, workspaceGid: string) {
      const key = `${userGid}:${workspaceGid}`;
      if (!lists.has(key)) lists.set(key, gid());
      return lists.get(key)!;
    },
    hub: {},
    lists,
  } as unknown as FakeAsanaWebhooks & { hub: HubForwarding; lists: Map<string, string> };
  let next: Partial<AsanaUser> = {};
  let rotate = false;
  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'form',
      pkce: 'optional',
      // The generic fake rotates; a non-rotating refresh puts the old token back below.
      refresh: 'rotating',
      accessTtlSeconds: 3600,
      paths: { authorize: ASANA_PATHS.authorize, token: ASANA_PATHS.token },
      grantExtra: () => {
        const user: AsanaUser = { gid: gid(), name: 'Ada CEO', email: 'ada@example.com', workspaces: [{ gid: gid(), name: 'Acme' }], ...next };
        next = {};
        return { ...user };
      },
      tokenBody: ({ grant, kind }) => {
        if (kind === 'refresh' && !rotate) grant.refreshToken = grant.retiredRefreshTokens.pop();
        const user = grant.extra as unknown as AsanaUser;
        return {
          access_token: grant.accessToken,
          token_type: 'bearer',
          expires_in: 3600,
          data: { id: Number(user.gid), gid: user.gid, name: user.name, email: user.email },
          ...(kind === 'code' || rotate ? { refresh_token: grant.refreshToken } : {}),
        };
      },
    },
    (app, provider) => {
      app.post(ASANA_PATHS.revoke, async (req, reply) => {
        provider.calls.revokes++;
        if (contentTypeOf(req) !== 'form') return reply.code(400).send({ error: 'invalid_request', error_description: 'form body expected' });
        const body = req.body as Record<string, string>;
        if (body.client_id !== provider.clientId || body.client_secret !== provider.clientSecret) {
          return reply.code(401).send({ error: 'invalid_client', error_description: 'client_id and client_secret in the body' });
        }
        const grant = body.token ? provider.grantOfToken(body.token) : undefined;
        if (grant) grant.revoked = true;
        return reply.code(200).send();
      });
      addApiRoutes(app, provider, state);
      addWebhookRoutes(app, provider, Object.assign(hooks, { projects: state.projects }));
      app.get(`${ASANA_PATHS.api}/users/me`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ errors: [{ message: 'Not Authorized', help: 'For more information on API status codes …' }] });
        const user = grant.extra as unknown as AsanaUser;
        return {
          data: {
            gid: user.gid,
            email: user.email,
            name: user.name,
            photo: null,
            resource_type: 'user',
            workspaces: user.workspaces.map((w) => ({ gid: w.gid, name: w.name, resource_type: 'workspace' })),
          },
        };
      });
    },
  )) as FakeAsana;
  const { hub: _hub, lists: _lists, projects: _projects, ...shared } = hooks as typeof hooks & { projects: unknown };
  return Object.assign(fake, state, shared, {
    nextUser: (user: Partial<AsanaUser>) => void (next = user),
    setRotation: (value: boolean) => void (rotate = value),
  });
}
