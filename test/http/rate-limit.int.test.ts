// Inbound rate limiting: per IP for anonymous calls, per token for workspace calls; 429 with Retry-After.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
// A random address per test keeps buckets apart when suites share one Redis.
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_PER_IP_PER_MINUTE: '3', RATE_LIMIT_PER_MINUTE: '4' });
  await t.app.ready();
});
afterAll(() => t.close());

describe('inbound rate limiting', () => {
  it('limits anonymous calls per IP with RateLimit-* headers, then 429 + Retry-After', async () => {
    const ip = randomIp();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await t.app.inject({ method: 'GET', url: '/integrations', remoteAddress: ip });
      statuses.push(last.statusCode);
      if (i === 0) {
        expect(last.headers['ratelimit-limit']).toBe('3');
        expect(last.headers['ratelimit-remaining']).toBe('2');
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last!.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(last!.json().code).toBe('rate_limited');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(last!.headers['ratelimit-remaining']).toBe('0');
    // Another address is not affected.
    expect((await t.app.inject({ method: 'GET', url: '/integrations', remoteAddress: randomIp() })).statusCode).toBe(200);
  });

  it('limits unknown-route probing too', async () => {
    const ip = randomIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/wp-admin', remoteAddress: ip })).statusCode);
    expect(statuses).toEqual([404, 404, 404, 429]);
  });

  it('limits workspace calls per token, independent of the IP', async () => {
    const ws = t.newWorkspace();
    const token = await t.token({ workspaces: [ws] });
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({ method: 'GET', url: `/workspaces/${ws}/integrations`, remoteAddress: randomIp(), headers: { authorization: `Bearer ${token}` } });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const other = await t.token({ workspaces: [ws], ttlSeconds: 999 });
    const res = await t.app.inject({ method: 'GET', url: `/workspaces/${ws}/integrations`, remoteAddress: randomIp(), headers: { authorization: `Bearer ${other}` } });
    expect(res.statusCode).toBe(200);
  });

  it('counts failed authentication against the IP', async () => {
    const ip = randomIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await t.app.inject({ method: 'GET', url: '/workspaces/w/integrations', remoteAddress: ip, headers: { authorization: 'Bearer nope' } })).statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('does not limit operator probes', async () => {
    const ip = randomIp();
    for (let i = 0; i < 6; i++) {
      expect((await t.app.inject({ method: 'GET', url: '/healthz', remoteAddress: ip })).statusCode).toBe(200);
    }
  });
});
