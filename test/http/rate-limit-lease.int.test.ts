// The shared per-token limit stays exact although Redis is asked only once per lease of points.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let other: TestApp;

beforeAll(async () => {
  // 180 a minute: leases of 3 points when Redis-backed.
  t = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '180' });
  other = await buildTestApp({ RATE_LIMIT_PER_MINUTE: '180', AUTH_JWT_SECRET: t.env.AUTH_JWT_SECRET! });
  await Promise.all([t.app.ready(), other.app.ready()]);
});
afterAll(async () => {
  await t.close();
  await other.close();
});

describe('leased rate limiting', () => {
  it('admits exactly the limit from one instance, then 429', async () => {
    const ws = t.newWorkspace();
    const token = await t.token({ workspaces: [ws] });
    const statuses: number[] = [];
    for (let i = 0; i < 181; i++) {
      const res = await t.app.inject({ url: `/workspaces/${ws}/integrations`, headers: { authorization: `Bearer ${token}` }, remoteAddress: `10.9.${randomInt(256)}.1` });
      statuses.push(res.statusCode);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(180);
    expect(statuses.at(-1)).toBe(429);
  });

  it('shares the bucket between instances, to within a lease per instance', async () => {
    if (t.deps.kv.kind === 'memory') {
      // In-memory buckets belong to one process by design: each instance counts alone.
      expect(other.deps.kv.kind).toBe('memory');
      return;
    }
    const ws = t.newWorkspace();
    const token = await t.token({ workspaces: [ws] });
    let admitted = 0;
    for (let i = 0; i < 200; i++) {
      const app = i % 2 ? other : t;
      const res = await app.app.inject({ url: `/workspaces/${ws}/integrations`, headers: { authorization: `Bearer ${token}` } });
      if (res.statusCode === 200) admitted++;
    }
    expect(admitted).toBeGreaterThanOrEqual(180 - 2 * 3);
    expect(admitted).toBeLessThanOrEqual(180 + 2 * 3);
  });
});
