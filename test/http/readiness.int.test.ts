// /readyz tells a load balancer to stop sending traffic when the database is gone; /healthz still answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
  await t.app.ready();
});
afterAll(() => t.close());

describe('readiness', () => {
  it('answers 503 with the failing check once the database is unreachable', async () => {
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    await t.deps.database.close();
    const res = await t.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unavailable', checks: { database: 'unavailable', kv: 'ok' } });
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
