// Callers authenticated through AUTH_JWKS_URL: asymmetric tokens from an identity provider's key set.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let server: Server;
let idpKey: CryptoKey;
let strangerKey: CryptoKey;
let jwksHits = 0;

beforeAll(async () => {
  const idp = await generateKeyPair('ES256');
  idpKey = idp.privateKey;
  strangerKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(idp.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    jwksHits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t = await buildTestApp({ AUTH_JWT_SECRET: '', AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks`, AUTH_JWT_ISSUER: 'https://idp.example.com' });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  server.close();
});

const sign = (key: CryptoKey, claims: Record<string, unknown>, issuer = 'https://idp.example.com') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setAudience('integration-hub').setExpirationTime('5m').sign(key);

describe('JWKS authentication', () => {
  it('accepts a token signed by the identity provider for the workspace', async () => {
    const ws = t.newWorkspace();
    const res = await t.app.inject({ url: `/workspaces/${ws}/integrations`, headers: { authorization: `Bearer ${await sign(idpKey, { workspaces: [ws] })}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ integrations: [] });
    expect(jwksHits).toBeGreaterThanOrEqual(1);
  });

  it('rejects a token signed by another key, from another issuer, or with HS256', async () => {
    const ws = t.newWorkspace();
    const stranger = await sign(strangerKey, { workspaces: [ws] });
    const wrongIssuer = await sign(idpKey, { workspaces: [ws] }, 'https://evil.example.com');
    const hs = await new SignJWT({ workspaces: [ws] }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://idp.example.com')
      .setAudience('integration-hub').setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(40)));
    for (const token of [stranger, wrongIssuer, hs]) {
      const res = await t.app.inject({ url: `/workspaces/${ws}/integrations`, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_token');
    }
  });
});
