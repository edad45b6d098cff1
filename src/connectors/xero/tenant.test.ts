// Picking the tenant a Xero grant was made for, and reading the auth-event claim from the access token.
import { describe, expect, it } from 'vitest';
import { authEventIdOf, pickTenant, xeroConnectionsSchema, type XeroConnection } from './tenant.js';

const jwt = (payload: unknown) =>
  ['{"alg":"RS256","typ":"JWT"}', JSON.stringify(payload)].map((p) => Buffer.from(p).toString('base64url')).join('.') + '.sig';

const row = (tenantId: string, authEventId: string, tenantType = 'ORGANISATION'): XeroConnection => ({
  id: `c-${tenantId}`,
  authEventId,
  tenantId,
  tenantType,
  tenantName: `Org ${tenantId}`,
});

describe('authEventIdOf', () => {
  it('reads authentication_event_id from the JWT payload', () => {
    expect(authEventIdOf(jwt({ authentication_event_id: 'ev-1', xero_userid: 'u' }))).toBe('ev-1');
  });

  it('gives undefined for opaque tokens, broken payloads and tokens without the claim', () => {
    expect(authEventIdOf('opaque-token')).toBeUndefined();
    expect(authEventIdOf('a.%%%.c')).toBeUndefined();
    expect(authEventIdOf(jwt('not an object'))).toBeUndefined();
    expect(authEventIdOf(jwt({ authentication_event_id: 42 }))).toBeUndefined();
    expect(authEventIdOf(jwt({ sub: 'u' }))).toBeUndefined();
  });
});

describe('pickTenant', () => {
  it('takes the only tenant, whatever the claim says', () => {
    expect(pickTenant([row('a', 'ev-old')], 'ev-new').tenantId).toBe('a');
    expect(pickTenant([row('a', 'ev-old')], undefined).tenantId).toBe('a');
  });

  it('matches the auth event among several tenants', () => {
    expect(pickTenant([row('a', 'ev-1'), row('b', 'ev-2'), row('c', 'ev-3')], 'ev-2').tenantId).toBe('b');
  });

  it('prefers an organisation when one consent covered several tenants', () => {
    const list = [row('old', 'ev-0'), row('practice', 'ev-1', 'PRACTICE'), row('org', 'ev-1')];
    expect(pickTenant(list, 'ev-1').tenantId).toBe('org');
    expect(pickTenant([row('p', 'ev-1', 'PRACTICE'), row('q', 'ev-1', 'PRACTICEMANAGER')], 'ev-1').tenantId).toBe('p');
  });

  it('refuses to guess: no tenant, or several without a matching event', () => {
    expect(() => pickTenant([], 'ev-1')).toThrow(/no tenant/);
    expect(() => pickTenant([row('a', 'ev-1'), row('b', 'ev-2')], undefined)).toThrow(/none matches/);
    expect(() => pickTenant([row('a', 'ev-1'), row('b', 'ev-2')], 'ev-9')).toThrow(/none matches/);
  });
});

describe('xeroConnectionsSchema', () => {
  it('accepts Xero answers with nulls and refuses rows without a tenant id', () => {
    const ok = [{ id: 'c', authEventId: null, tenantId: 't', tenantType: 'ORGANISATION', tenantName: null, createdDateUtc: 'x' }];
    expect(xeroConnectionsSchema.parse(ok)[0]!.tenantId).toBe('t');
    expect(xeroConnectionsSchema.safeParse([{ id: 'c', tenantId: '' }]).success).toBe(false);
    expect(xeroConnectionsSchema.safeParse({ tenantId: 't' }).success).toBe(false);
  });
});
