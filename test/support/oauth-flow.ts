// Drives a connect → browser → provider → callback round trip against the real app and a provider fake.
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.js';

export interface FlowOptions {
  workspaceId: string;
  slug: string;
  returnUrl?: string;
  scopes?: string[];
  /** The bearer token; minted for the workspace when absent. */
  token?: string;
}

export async function startConnect(t: TestApp, options: FlowOptions): Promise<LightMyRequestResponse> {
  const token = options.token ?? (await t.token({ workspaces: [options.workspaceId] }));
  const payload: Record<string, unknown> = {};
  if (options.returnUrl) payload.returnUrl = options.returnUrl;
  if (options.scopes) payload.scopes = options.scopes;
  return t.app.inject({
    method: 'POST',
    url: `/workspaces/${options.workspaceId}/integrations/${options.slug}/connect`,
    headers: { authorization: `Bearer ${token}` },
    payload,
  });
}

export interface BrowserVisit {
  /** The binding cookie the start route set (`name=value`). */
  cookie: string;
  /** The provider authorization URL the hub redirected to. */
  providerUrl: URL;
}

/** The user's browser opens the authorization URL: the hub binds it and sends it to the provider. */
export async function openAuthorizationUrl(t: TestApp, authorizationUrl: string): Promise<BrowserVisit> {
  const url = new URL(authorizationUrl);
  const res = await t.app.inject({ method: 'GET', url: url.pathname + url.search });
  if (res.statusCode !== 302) throw new Error(`start route answered ${res.statusCode}: ${res.body}`);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const cookie = setCookie[0]?.split(';')[0];
  if (!cookie) throw new Error('start route set no binding cookie');
  return { cookie, providerUrl: new URL(String(res.headers.location)) };
}

/** The provider's consent screen, approved: returns the hub callback path the provider redirects to. */
export async function consentAtProvider(providerUrl: URL): Promise<string> {
  const res = await fetch(providerUrl, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`provider authorize answered ${res.status}: ${await res.text()}`);
  const callback = new URL(location);
  return callback.pathname + callback.search;
}

export async function callCallback(t: TestApp, callbackPath: string, cookie?: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: callbackPath, headers: cookie ? { cookie } : {} });
}

export interface ConnectedFlow {
  integrationId: string;
  callback: LightMyRequestResponse;
  callbackPath: string;
  cookie: string;
}

/** The whole happy path; fails the test with the hub's answer if any step goes wrong. */
export async function connectViaOAuth(t: TestApp, options: FlowOptions): Promise<ConnectedFlow> {
  const started = await startConnect(t, options);
  if (started.statusCode !== 200) throw new Error(`connect answered ${started.statusCode}: ${started.body}`);
  const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
  const callbackPath = await consentAtProvider(visit.providerUrl);
  const callback = await callCallback(t, callbackPath, visit.cookie);
  const integrationId = resultOf(callback).integrationId;
  if (!integrationId) throw new Error(`callback did not connect: ${callback.statusCode} ${callback.headers.location ?? callback.body.slice(0, 300)}`);
  return { integrationId, callback, callbackPath, cookie: visit.cookie };
}

/** Reads the callback's result from its redirect or from its page's message. */
export function resultOf(callback: LightMyRequestResponse): { status?: string; integrationId?: string; code?: string } {
  if (callback.statusCode === 302) {
    const target = new URL(String(callback.headers.location));
    return {
      status: target.searchParams.get('status') ?? undefined,
      integrationId: target.searchParams.get('integrationId') ?? undefined,
      code: target.searchParams.get('code') ?? undefined,
    };
  }
  const match = /var message = (\{.*?\});/.exec(callback.body);
  return match ? (JSON.parse(match[1]!.replace(/\\u003c/g, '<')) as { status?: string; integrationId?: string; code?: string }) : {};
}

/** URL overrides and client credentials pointing a connector at a fake. */
export function providerEnvFor(prefix: string, fake: { url: string; clientId: string; clientSecret: string }, paths: { authorize?: string; token?: string; revoke?: string; api?: string }): Record<string, string> {
  const env: Record<string, string> = { [`${prefix}_CLIENT_ID`]: fake.clientId, [`${prefix}_CLIENT_SECRET`]: fake.clientSecret };
  if (paths.authorize) env[`${prefix}_AUTHORIZE_URL`] = fake.url + paths.authorize;
  if (paths.token) env[`${prefix}_TOKEN_URL`] = fake.url + paths.token;
  if (paths.revoke) env[`${prefix}_REVOKE_URL`] = fake.url + paths.revoke;
  if (paths.api !== undefined) env[`${prefix}_API_URL`] = fake.url + paths.api;
  return env;
}
