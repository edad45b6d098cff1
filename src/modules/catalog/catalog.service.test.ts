// The catalog: filters, lookups, configured flags and what an item reveals (never a secret).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config.js';
import { connectors } from '../../connectors/index.js';
import { AppError } from '../../errors.js';
import { integrationListResponse, integrationResponse } from './catalog.schemas.js';
import { createCatalogService } from './catalog.service.js';

const catalog = (env: Record<string, string> = {}) => createCatalogService({ config: parseConfig(env) });

describe('catalog.list', () => {
  it('lists every registered connector without a filter, in registry order', () => {
    expect(catalog().list().map((i) => i.slug)).toEqual(connectors.map((c) => c.slug));
  });

  it('filters by role', () => {
    const service = catalog();
    expect(service.list({ role: 'cto' }).map((i) => i.slug)).toEqual(['github', 'gitlab', 'jira', 'datadog']);
    expect(service.list({ role: 'cfo' }).map((i) => i.slug)).toEqual(['quickbooks', 'xero', 'stripe']);
    expect(service.list({ role: 'common' }).map((i) => i.slug)).toEqual([
      'slack',
      'google-calendar',
      'microsoft-teams',
      'notion',
      'asana',
    ]);
  });

  it('filters by category, and by role and category together', () => {
    const service = catalog();
    expect(service.list({ category: 'finance' }).map((i) => i.slug)).toEqual(['quickbooks', 'xero']);
    expect(service.list({ category: 'project-management' }).map((i) => i.slug)).toEqual(['asana', 'jira']);
    expect(service.list({ role: 'cto', category: 'project-management' }).map((i) => i.slug)).toEqual(['jira']);
    expect(service.list({ role: 'cfo', category: 'engineering' })).toEqual([]);
  });

  it('answers repeated requests from the list built at start, which nobody can change', () => {
    const service = catalog();
    const first = service.list({ role: 'cto' });
    expect(service.list({ role: 'cto' })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first[0])).toBe(true);
  });

  it('produces responses that satisfy the route schema', () => {
    const integrations = catalog().list();
    expect(integrationListResponse.parse({ integrations })).toEqual({ integrations });
  });
});

describe('catalog.get', () => {
  it('describes an oauth2 integration', () => {
    const item = catalog().get('google-calendar');
    expect(item).toMatchObject({
      slug: 'google-calendar',
      name: 'Google Calendar',
      category: 'calendar',
      roles: ['common'],
      authType: 'oauth2',
      configured: false,
      oauthAvailable: false,
      widgets: expect.arrayContaining([expect.objectContaining({ id: expect.any(String), kind: expect.any(String) })]),
    });
    expect(item.scopes).toContain('https://www.googleapis.com/auth/calendar.events.readonly');
    expect(item.availableScopes).toEqual(expect.arrayContaining(item.scopes));
    expect(item.credentialFields).toBeUndefined();
    expect(integrationResponse.parse({ integration: item })).toEqual({ integration: item });
  });

  it('lists the credential fields of an API-key integration', () => {
    const item = catalog().get('datadog');
    expect(item.authType).toBe('apiKey');
    expect(item.configured).toBe(true);
    expect(item.scopes).toEqual([]);
    expect(item.credentialFields).toEqual([
      { name: 'apiKey', label: 'API key', secret: true },
      expect.objectContaining({ name: 'appKey', secret: true }),
      {
        name: 'site',
        label: 'Datadog site',
        secret: false,
        enum: [
          'datadoghq.com',
          'us3.datadoghq.com',
          'us5.datadoghq.com',
          'datadoghq.eu',
          'ap1.datadoghq.com',
          'ap2.datadoghq.com',
          'ddog-gov.com',
        ],
      },
    ]);
  });

  it('throws integration_not_found for an unknown slug', () => {
    const service = catalog();
    for (const slug of ['nope', 'SLACK', 'toString', '__proto__']) {
      let caught: unknown;
      try {
        service.get(slug);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('integration_not_found');
      expect((caught as AppError).status).toBe(404);
    }
  });
});

describe('configured', () => {
  it('flips when the client id and secret are present', () => {
    expect(catalog().get('slack').configured).toBe(false);
    expect(catalog({ SLACK_CLIENT_ID: 'id' }).get('slack').configured).toBe(false);
    const configured = catalog({ SLACK_CLIENT_ID: 'id', SLACK_CLIENT_SECRET: 'secret' });
    expect(configured.get('slack')).toMatchObject({ configured: true, oauthAvailable: true });
    expect(configured.list({ role: 'common' }).find((i) => i.slug === 'slack')?.configured).toBe(true);
    expect(configured.get('notion').configured).toBe(false);
  });

  it('offers Stripe Connect once its credentials are set, with the key always possible', () => {
    expect(catalog().get('stripe')).toMatchObject({ configured: true, oauthAvailable: false });
    const withConnect = catalog({ STRIPE_CLIENT_ID: 'ca_123', STRIPE_CLIENT_SECRET: 'sk_test_123' });
    expect(withConnect.get('stripe')).toMatchObject({ authType: 'apiKey', configured: true, oauthAvailable: true });
  });

  it('never reveals client secrets or webhook secrets', () => {
    const secrets = {
      SLACK_CLIENT_ID: 'client-id-value',
      SLACK_CLIENT_SECRET: 'client-secret-value-1234',
      SLACK_SIGNING_SECRET: 'signing-secret-value-5678',
      STRIPE_CLIENT_SECRET: 'sk_live_platform_secret',
    };
    const body = JSON.stringify(catalog(secrets).list());
    for (const value of Object.values(secrets)) expect(body).not.toContain(value);
  });
});
