// Microsoft's pure quirks: claims from a token that may not be a JWT, Graph scopes read back, AADSTS dead grants.
import { describe, expect, it } from 'vitest';
import { hooks } from './hooks.js';
import { entraClaimsOf } from './jwt-claims.js';
import { canonicalScope, parseEntraTokenResponse } from './token-response.js';

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const segment = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const token = (claims: unknown) => `${segment({ alg: 'RS256' })}.${segment(claims)}.c2ln`;

describe('entraClaimsOf', () => {
  it('reads tid and oid from a JWT payload without verifying it', () => {
    expect(entraClaimsOf(token({ tid: TID, oid: TID, aud: 'x' }))).toEqual({ tid: TID, oid: TID });
  });

  it.each([
    ['an opaque personal-account token', 'EwBwA8l6BAAURSN'],
    ['two segments', `${segment({ tid: TID })}.abc`],
    ['a payload that is not JSON', `${segment({})}.${segment('not json')}.sig`],
    ['a tid that is not a GUID', token({ tid: '../../evil' })],
    ['nothing', undefined],
  ])('answers undefined for %s', (_name, value) => {
    expect(entraClaimsOf(value)).toBeUndefined();
  });
});

describe('Graph scopes', () => {
  it('drops the resource prefix and restores the declared spelling', () => {
    expect(canonicalScope('https://graph.microsoft.com/team.readbasic.all')).toBe('Team.ReadBasic.All');
    expect(canonicalScope('User.Read')).toBe('User.Read');
    expect(canonicalScope('https://graph.microsoft.com/Mail.Read')).toBe('Mail.Read');
  });

  it('parses a success answer and leaves errors to the standard reading', () => {
    const ok = parseEntraTokenResponse({ status: 200, body: { access_token: 'a', refresh_token: 'r', expires_in: '3600', scope: 'https://graph.microsoft.com/user.read openid https://graph.microsoft.com/User.Read' } });
    expect(ok).toMatchObject({ ok: true, tokens: { accessToken: 'a', refreshToken: 'r', scopes: ['User.Read', 'openid'] } });
    expect(parseEntraTokenResponse({ status: 400, body: { error: 'invalid_grant' } })).toBeUndefined();
    expect(parseEntraTokenResponse({ status: 200, body: { error: 'invalid_grant' } })).toBeUndefined();
  });
});

describe('isDeadGrant', () => {
  const dead = (error: string, description?: string) => hooks.isDeadGrant!({ status: 400, error, description });
  it('knows the AADSTS codes of an expired or revoked grant, and interaction_required', () => {
    for (const code of ['AADSTS700082', 'AADSTS70008', 'AADSTS700084', 'AADSTS50173', 'AADSTS65001']) {
      expect(dead('invalid_grant', `${code}: The refresh token has expired. Trace ID: x`)).toBe(true);
    }
    expect(dead('interaction_required', 'AADSTS50076: MFA required.')).toBe(true);
    expect(dead('consent_required')).toBe(true);
  });

  it('leaves client and request errors alone', () => {
    expect(dead('invalid_client', 'AADSTS7000215: Invalid client secret provided.')).toBe(false);
    expect(dead('invalid_request', 'AADSTS9002313: Invalid request.')).toBe(false);
    expect(dead('invalid_request', 'AADSTS7000821: something else')).toBe(false);
  });
});
