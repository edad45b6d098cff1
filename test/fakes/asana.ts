// Fake Asana: OAuth with client credentials in a form body, S256 PKCE, 1-hour tokens, a token answer naming the
// user under `data`, refresh tokens kept on refresh (⚠ or rotated, when told to), form-encoded /-/oauth_revoke,
// GET /api/1.0/users/me with the user's workspaces, and the calls the widgets make (tasks, projects, task_counts)
// with opt_fields, offset paging (`next_page`) and Asana's `{ errors: [{ message }] }` envelope.
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { bearerToken, contentTypeOf } from './fake-server.js';
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

export interface FakeAsana extends FakeOAuthProvider {
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
  return Object.assign(fake, state, {
    nextUser: (user: Partial<AsanaUser>) => void (next = user),
    setRotation: (value: boolean) => void (rotate = value),
  });
}
