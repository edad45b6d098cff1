// The shared security suite: every /workspaces/… route in the OpenAPI document, whatever issue added it,
// must refuse missing, malformed, forged, expired and other-workspace tokens with problem+json.
import { randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let routes: { method: string; url: string; stream: boolean }[] = [];
let adminRoutes: { method: string; url: string; stream: boolean }[] = [];
const workspace = 'ws_security_suite';

beforeAll(async () => {
  t = await buildTestApp();
  await t.app.ready();
  const spec = t.app.swagger() as { paths: Record<string, Record<string, { produces?: string[]; responses?: Record<string, { content?: Record<string, unknown> }> }>> };
  const routesUnder = (prefix: string) =>
    Object.entries(spec.paths)
      .filter(([path]) => path.startsWith(prefix))
      .flatMap(([path, ops]) =>
        Object.entries(ops)
          .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map(([method, op]) => ({
            method: method.toUpperCase(),
            url: path
              .replace('{workspaceId}', workspace)
              .replace(/\{integrationId\}/g, 'conn_01jxxxxxxxxxxxxxxxxxxxxxxx')
              .replace(/\{eventId\}/g, 'whe_01jxxxxxxxxxxxxxxxxxxxxxxx')
              .replace(/\{[^}]+\}/g, 'x'),
            // An event stream never ends by itself: once past the guard it is read over real HTTP and let go.
            stream: JSON.stringify(op).includes('text/event-stream'),
          })),
      );
  routes = routesUnder('/workspaces/');
  adminRoutes = routesUnder('/admin/');
});
afterAll(() => t.close());

async function sign(claims: Record<string, unknown>, opts: { secret?: string; audience?: string; exp?: number | null } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setAudience(opts.audience ?? t.config.auth.audience).setIssuedAt();
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? t.config.auth.jwtSecret!));
}

/** A streaming route past the guard: its status and headers over real HTTP, then the stream is dropped. */
async function openStream(route: { url: string }, authorization: string): Promise<{ statusCode: number; body: string }> {
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`);
  const abort = new AbortController();
  const res = await fetch(new URL(route.url, address), { headers: { authorization }, signal: abort.signal });
  abort.abort();
  return { statusCode: res.status, body: res.headers.get('content-type') ?? '' };
}

async function call(route: { method: string; url: string }, authorization?: string) {
  return t.app.inject({
    method: route.method as 'GET',
    url: route.url,
    headers: authorization ? { authorization } : {},
    ...(route.method === 'GET' ? {} : { payload: {} }),
  });
}

function expectProblem(res: Awaited<ReturnType<typeof call>>, status: number, code: string) {
  expect(res.statusCode, `${res.body}`).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  expect(body.requestId).toBe(res.headers['x-request-id']);
}

describe('every workspace route', () => {
  it('is found in the OpenAPI document (the suite has something to check)', () => {
    expect(routes.length).toBeGreaterThanOrEqual(2);
    expect(routes).toContainEqual(expect.objectContaining({ method: 'GET', url: `/workspaces/${workspace}/integrations` }));
    expect(routes).toContainEqual({ method: 'GET', url: `/workspaces/${workspace}/events`, stream: true });
  });

  it('answers 401 unauthenticated without a token or with another scheme', async () => {
    for (const route of routes) {
      expectProblem(await call(route), 401, 'unauthenticated');
      expectProblem(await call(route, 'Basic dXNlcjpwYXNz'), 401, 'unauthenticated');
      expectProblem(await call(route, 'Bearer'), 401, 'unauthenticated');
    }
  });

  it('answers 401 invalid_token for garbage, forged, expired, unsigned, wrong-audience and exp-less tokens', async () => {
    const bad = {
      garbage: 'Bearer not.a.jwt',
      forged: `Bearer ${await sign({ workspaces: [workspace] }, { secret: randomBytes(32).toString('hex') })}`,
      expired: `Bearer ${await sign({ workspaces: [workspace] }, { exp: Math.floor(Date.now() / 1000) - 120 })}`,
      unsigned: `Bearer ${new UnsecuredJWT({ workspaces: [workspace] }).setAudience(t.config.auth.audience).setExpirationTime('10m').encode()}`,
      audience: `Bearer ${await sign({ workspaces: [workspace] }, { audience: 'someone-else' })}`,
      noExpiry: `Bearer ${await sign({ workspaces: [workspace] }, { exp: null })}`,
    };
    for (const route of routes) {
      for (const [name, header] of Object.entries(bad)) {
        const res = await call(route, header);
        expect(res.statusCode, `${name} on ${route.method} ${route.url}`).toBe(401);
        expectProblem(res, 401, 'invalid_token');
      }
    }
  });

  it('answers 403 forbidden for a valid token of another workspace, or one with a non-admin scope', async () => {
    const other = `Bearer ${await sign({ workspaces: ['ws_other'] })}`;
    const scoped = `Bearer ${await sign({ scope: 'hub:read hub:administrator', workspaces: 'not-an-array' })}`;
    for (const route of routes) {
      expectProblem(await call(route, other), 403, 'forbidden');
      expectProblem(await call(route, scoped), 403, 'forbidden');
    }
  });

  it('lets a token for the workspace, and an admin token, past the guard', async () => {
    const member = `Bearer ${await sign({ workspaces: ['ws_a', workspace] })}`;
    const admin = `Bearer ${await sign({ scope: 'openid hub:admin' })}`;
    for (const route of routes) {
      for (const header of [member, admin]) {
        const res = route.stream ? await openStream(route, header) : await call(route, header);
        expect([401, 403], `${route.method} ${route.url}: ${res.body}`).not.toContain(res.statusCode);
      }
    }
  });

  it('never echoes the token in the response or the logs', async () => {
    const token = await sign({ workspaces: ['ws_other'] });
    for (const route of routes) {
      const res = await call(route, `Bearer ${token}`);
      expect(res.body).not.toContain(token);
    }
    expect(t.logs.text()).not.toContain(token);
  });
});

describe('every admin route', () => {
  it('is found in the OpenAPI document', () => {
    expect(adminRoutes).toContainEqual(expect.objectContaining({ method: 'POST', url: '/admin/webhook-events/whe_01jxxxxxxxxxxxxxxxxxxxxxxx/replay' }));
  });

  it('refuses missing and invalid tokens (401), and workspace tokens without hub:admin (403)', async () => {
    const member = `Bearer ${await sign({ workspaces: [workspace] })}`;
    const forged = `Bearer ${await sign({ scope: 'hub:admin' }, { secret: randomBytes(32).toString('hex') })}`;
    for (const route of adminRoutes) {
      expectProblem(await call(route), 401, 'unauthenticated');
      expectProblem(await call(route, forged), 401, 'invalid_token');
      expectProblem(await call(route, member), 403, 'forbidden');
    }
  });

  it('lets an admin token through', async () => {
    const admin = `Bearer ${await sign({ scope: 'hub:admin' })}`;
    for (const route of adminRoutes) {
      const res = await call(route, admin);
      expect([401, 403], `${route.method} ${route.url}: ${res.body}`).not.toContain(res.statusCode);
    }
  });
});
