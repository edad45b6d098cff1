/* eslint-disable @typescript-eslint/no-explicit-any -- problem bodies are read loosely in assertions */
// HTTP conventions every route shares: problem+json errors, validation, body limits, headers, request ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ BODY_LIMIT_BYTES: '2048' });
  // A body route of the test's own, to exercise the app's parsing and validation conventions.
  t.app.withTypeProvider<ZodTypeProvider>().post('/__test/echo', {
    schema: { body: z.object({ name: z.string().min(1), count: z.number().int() }) },
  }, async (request) => request.body);
  await t.app.ready();
});
afterAll(() => t.close());

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json: () => Record<string, any> }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code, type: `urn:integration-hub:problem:${code}` });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

describe('bad input gets a clear 4xx', () => {
  it('malformed JSON → 400 invalid_json', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/__test/echo', headers: { 'content-type': 'application/json' }, payload: '{"name": "x",' });
    expectProblem(res, 400, 'invalid_json');
  });

  it('an empty JSON body → 400 invalid_json', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/__test/echo', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(res.statusCode).toBe(400);
    expect(['invalid_json', 'validation_failed']).toContain(res.json().code);
  });

  it('wrong types → 400 validation_failed listing each field', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/__test/echo', payload: { name: '', count: 'three' } });
    const body = expectProblem(res, 400, 'validation_failed');
    const paths = body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.name', 'body.count']));
  });

  it('an oversized body → 413 payload_too_large', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/__test/echo', payload: { name: 'x'.repeat(5000), count: 1 } });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('an unsupported content type → 415', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/__test/echo', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('an unknown route → 404 route_not_found', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/nope?code=secret' }), 404, 'route_not_found');
  });

  it('a bad query value → 400 validation_failed', async () => {
    const body = expectProblem(await t.app.inject({ method: 'GET', url: '/integrations?role=ceo' }), 400, 'validation_failed');
    expect(body.errors[0].path).toBe('querystring.role');
  });

  it('a valid body passes', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/__test/echo', payload: { name: 'a', count: 2 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'a', count: 2 });
  });
});

describe('headers and ids', () => {
  it('sets security headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/integrations' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-frame-options']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
    // The same on a problem answer and on a workspace route.
    const problem = await t.app.inject({ method: 'GET', url: '/no-such-route' });
    expect(problem.headers['x-content-type-options']).toBe('nosniff');
    expect(problem.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    // JSON answers carry the API set (OWASP REST), not the headers that only matter to HTML documents ...
    for (const documentOnly of ['x-dns-prefetch-control', 'cross-origin-opener-policy', 'origin-agent-cluster', 'x-download-options', 'referrer-policy']) {
      expect(res.headers[documentOnly]).toBeUndefined();
    }
    // ... which the HTML pages get, with their own CSP.
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
    expect(docs.headers['x-dns-prefetch-control']).toBe('off');
    expect(docs.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(docs.headers['cross-origin-resource-policy']).toBe('same-site');
    const oauthPage = await t.app.inject({ method: 'GET', url: '/oauth/authorize/no-such-state' });
    expect(oauthPage.headers['x-dns-prefetch-control']).toBe('off');
    expect(oauthPage.headers['strict-transport-security']).toBeDefined();
  });

  it('keeps a well-formed caller request id and replaces a malformed one', async () => {
    const kept = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\u0000' } });
    expect(replaced.headers['x-request-id']).toMatch(/^req_[0-9a-f-]{36}$/);
  });

  it('does not log query secrets or authorization headers', async () => {
    await t.app.inject({ method: 'GET', url: '/nope?code=sekrit-code-123&state=st4te-xyz', headers: { authorization: 'Bearer top-secret-token' } });
    const logs = t.logs.text();
    expect(logs).toContain('/nope');
    expect(logs).not.toContain('sekrit-code-123');
    expect(logs).not.toContain('st4te-xyz');
    expect(logs).not.toContain('top-secret-token');
  });
});

describe('operator routes', () => {
  it('/healthz answers ok', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks the database and the key-value store', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { database: 'ok', kv: 'ok' } });
  });

  it('/metrics serves Prometheus text with request durations by route', async () => {
    const count = (body: string, labels: string) => Number(new RegExp(`hub_http_request_duration_seconds_count\\{${labels}\\} (\\d+)`).exec(body)?.[1] ?? 0);
    const before = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    await t.app.inject({ method: 'GET', url: '/integrations' });
    await t.app.inject({ method: 'GET', url: '/integrations' });
    await t.app.inject({ method: 'GET', url: '/integrations/no-such-connector' });
    await t.app.inject({ method: 'GET', url: '/no/such/route' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(count(res.body, 'method="GET",route="/integrations",status="200"') - count(before, 'method="GET",route="/integrations",status="200"')).toBe(2);
    expect(count(res.body, 'method="GET",route="/integrations/:slug",status="404"') - count(before, 'method="GET",route="/integrations/:slug",status="404"')).toBe(1);
    expect(count(res.body, 'method="GET",route="not_found",status="404"') - count(before, 'method="GET",route="not_found",status="404"')).toBe(1);
    expect(res.body).toMatch(/hub_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/integrations",status="200"\} \d+/);
    expect(res.body).toContain('hub_process_cpu_seconds_total');
  });

  it('/openapi.json is OpenAPI 3.1 describing every route, and /docs serves the UI', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.openapi).toBe('3.1.0');
    for (const path of ['/integrations', '/integrations/{slug}', '/workspaces/{workspaceId}/integrations', '/healthz', '/readyz']) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });
});
