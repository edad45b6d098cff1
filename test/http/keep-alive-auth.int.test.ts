// The workspace guard over one keep-alive connection, as a dashboard uses it: the principal remembered for the
// connection never outlives its token, never crosses workspaces, and follows a token change on the same connection.
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let base: string;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  // No clock skew allowed: a token expires at its `exp`, so the test can watch one expire.
  t = await buildTestApp({ AUTH_CLOCK_TOLERANCE_SECONDS: '0' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  agent.destroy();
  await t.close();
});

/** One GET over the shared keep-alive connection: status, and the client port (the same port = the same connection). */
function get(path: string, token: string): Promise<{ status: number; port: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const port = res.socket.localPort!;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, port }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('workspace guard on a keep-alive connection', () => {
  it('follows the token each request carries, on one connection', async () => {
    const [ws1, ws2] = [t.newWorkspace(), t.newWorkspace()];
    const one = await t.token({ workspaces: [ws1] });
    const two = await t.token({ workspaces: [ws2] });
    const answers = [
      await get(`/workspaces/${ws1}/integrations`, one),
      await get(`/workspaces/${ws1}/integrations`, one),
      await get(`/workspaces/${ws2}/integrations`, one),
      await get(`/workspaces/${ws2}/integrations`, two),
      await get(`/workspaces/${ws1}/integrations`, two),
      await get(`/workspaces/${ws1}/integrations`, one),
      await get(`/workspaces/${ws1}/integrations`, `${one.slice(0, -2)}xx`),
      await get(`/workspaces/${ws1}/integrations`, one),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 403, 200, 403, 200, 401, 200]);
    expect(new Set(answers.map((a) => a.port)).size).toBe(1);
  });

  it('refuses a token once it has expired, on the connection that used it', async () => {
    const ws = t.newWorkspace();
    const short = await t.token({ workspaces: [ws], ttlSeconds: 2 });
    // Twice: the first verifies the token, the second finds it known (the way every later request goes).
    await get(`/workspaces/${ws}/integrations`, short);
    const before = await get(`/workspaces/${ws}/integrations`, short);
    expect(before.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_100));
    const after = await get(`/workspaces/${ws}/integrations`, short);
    expect(after).toEqual({ status: 401, port: before.port });
  });

  it('with the default clock skew, remembers a token exactly as long as verification accepts it', async () => {
    const skewed = await buildTestApp();
    try {
      await skewed.app.listen({ port: 0, host: '127.0.0.1' });
      const origin = `http://127.0.0.1:${(skewed.app.server.address() as AddressInfo).port}`;
      const ws = skewed.newWorkspace();
      // 28 s past `exp`: inside the 30 s allowed, for 2 s more.
      const late = await skewed.token({ workspaces: [ws], ttlSeconds: -28 });
      const status = async () => (await fetch(`${origin}/workspaces/${ws}/integrations`, { headers: { authorization: `Bearer ${late}` } })).status;
      expect([await status(), await status()]).toEqual([200, 200]);
      await new Promise((r) => setTimeout(r, 3_100));
      expect(await status()).toBe(401);
    } finally {
      await skewed.close();
    }
  });
});
