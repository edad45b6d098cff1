// Endpoint resolution: env overrides win over defaults, placeholders are filled and guarded, configured logic.
import { describe, expect, it } from 'vitest';
import { parseConfig, type ProviderEnv } from '../config.js';
import { AppError } from '../errors.js';
import { isConfigured, isOAuthAvailable, resolveEndpoints } from './endpoints.js';
import { getConnector } from './index.js';
import type { ConnectorDefinition } from './types.js';

function connector(slug: string): ConnectorDefinition {
  const c = getConnector(slug);
  if (!c) throw new Error(`no connector ${slug}`);
  return c;
}

function providerEnv(slug: string, env: Record<string, string> = {}): ProviderEnv {
  const p = parseConfig(env).providers[slug];
  if (!p) throw new Error(`no provider env for ${slug}`);
  return p;
}

function appErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return undefined;
}

describe('resolveEndpoints', () => {
  it('uses the defaults when nothing is overridden', () => {
    expect(resolveEndpoints(connector('gitlab'), providerEnv('gitlab'))).toEqual({
      authorizeUrl: 'https://gitlab.com/oauth/authorize',
      tokenUrl: 'https://gitlab.com/oauth/token',
      revokeUrl: 'https://gitlab.com/oauth/revoke',
      apiBaseUrl: 'https://gitlab.com/api/v4',
    });
  });

  it('lets each <PREFIX>_*_URL variable win over its default', () => {
    const env = providerEnv('gitlab', {
      GITLAB_AUTHORIZE_URL: 'https://git.example.com/oauth/authorize',
      GITLAB_TOKEN_URL: 'http://127.0.0.1:4010/oauth/token',
      GITLAB_REVOKE_URL: 'https://git.example.com/oauth/revoke',
      GITLAB_API_URL: 'https://git.example.com/api/v4',
    });
    expect(resolveEndpoints(connector('gitlab'), env)).toEqual({
      authorizeUrl: 'https://git.example.com/oauth/authorize',
      tokenUrl: 'http://127.0.0.1:4010/oauth/token',
      revokeUrl: 'https://git.example.com/oauth/revoke',
      apiBaseUrl: 'https://git.example.com/api/v4',
    });
  });

  it('overrides one URL without touching the others', () => {
    const env = providerEnv('slack', { SLACK_TOKEN_URL: 'http://localhost:9999/token' });
    const endpoints = resolveEndpoints(connector('slack'), env);
    expect(endpoints.tokenUrl).toBe('http://localhost:9999/token');
    expect(endpoints.authorizeUrl).toBe('https://slack.com/oauth/v2/authorize');
  });

  it('fills {tenant} from MICROSOFT_TENANT, else with common', () => {
    const teams = connector('microsoft-teams');
    expect(resolveEndpoints(teams, providerEnv('microsoft-teams')).authorizeUrl).toBe(
      'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    );
    const env = providerEnv('microsoft-teams', { MICROSOFT_TENANT: 'contoso.onmicrosoft.com' });
    expect(resolveEndpoints(teams, env).tokenUrl).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    );
  });

  it('fills placeholders inside an override too', () => {
    const env = providerEnv('jira', { JIRA_API_URL: 'http://127.0.0.1:4011/ex/jira/{cloudId}' });
    expect(resolveEndpoints(connector('jira'), env, { cloudId: 'abc-123' }).apiBaseUrl).toBe(
      'http://127.0.0.1:4011/ex/jira/abc-123',
    );
  });

  it('fills {cloudId} from the connection metadata', () => {
    const endpoints = resolveEndpoints(connector('jira'), providerEnv('jira'), { cloudId: 'abc-123' });
    expect(endpoints.apiBaseUrl).toBe('https://api.atlassian.com/ex/jira/abc-123');
    expect(endpoints.revokeUrl).toBeUndefined();
  });

  it('leaves connection-only placeholders in place before there is a connection', () => {
    const endpoints = resolveEndpoints(connector('jira'), providerEnv('jira'));
    expect(endpoints.authorizeUrl).toBe('https://auth.atlassian.com/authorize');
    expect(endpoints.apiBaseUrl).toBe('https://api.atlassian.com/ex/jira/{cloudId}');
  });

  it('refuses a connection whose metadata lacks a placeholder value', () => {
    expect(appErrorCode(() => resolveEndpoints(connector('jira'), providerEnv('jira'), {}))).toBe('internal_error');
  });

  it('encodes values so they cannot add path segments or hosts', () => {
    const endpoints = resolveEndpoints(connector('jira'), providerEnv('jira'), { cloudId: '../x/y?z' });
    expect(endpoints.apiBaseUrl).toBe('https://api.atlassian.com/ex/jira/..%2Fx%2Fy%3Fz');
  });

  it('builds the Datadog host from an allowed site only', () => {
    const datadog = connector('datadog');
    expect(resolveEndpoints(datadog, providerEnv('datadog'), { site: 'datadoghq.eu' })).toEqual({
      apiBaseUrl: 'https://api.datadoghq.eu',
    });
    expect(appErrorCode(() => resolveEndpoints(datadog, providerEnv('datadog'), { site: 'evil.example' }))).toBe(
      'bad_request',
    );
  });

  it('fills {clientId} from the provider credentials', () => {
    const env = providerEnv('github', { GITHUB_CLIENT_ID: 'Iv1.abc', GITHUB_CLIENT_SECRET: 's3cret' });
    expect(resolveEndpoints(connector('github'), env).revokeUrl).toBe(
      'https://api.github.com/applications/Iv1.abc/token',
    );
  });

  it('gives an API-key connector with OAuth beside it (Stripe) its OAuth URLs', () => {
    expect(resolveEndpoints(connector('stripe'), providerEnv('stripe'))).toEqual({
      authorizeUrl: 'https://connect.stripe.com/oauth/authorize',
      tokenUrl: 'https://connect.stripe.com/oauth/token',
      revokeUrl: 'https://connect.stripe.com/oauth/deauthorize',
      apiBaseUrl: 'https://api.stripe.com',
    });
  });
});

describe('isConfigured', () => {
  it('needs both the client id and the secret for an oauth2 connector', () => {
    const slack = connector('slack');
    expect(isConfigured(slack, providerEnv('slack'))).toBe(false);
    expect(isConfigured(slack, providerEnv('slack', { SLACK_CLIENT_ID: 'id' }))).toBe(false);
    expect(isConfigured(slack, providerEnv('slack', { SLACK_CLIENT_SECRET: 'secret' }))).toBe(false);
    expect(isConfigured(slack, providerEnv('slack', { SLACK_CLIENT_ID: 'id', SLACK_CLIENT_SECRET: 'secret' }))).toBe(
      true,
    );
  });

  it('treats an empty variable as unset', () => {
    const env = providerEnv('notion', { NOTION_CLIENT_ID: 'id', NOTION_CLIENT_SECRET: '' });
    expect(isConfigured(connector('notion'), env)).toBe(false);
  });

  it('is always true for an API-key connector: the key comes from the user', () => {
    expect(isConfigured(connector('datadog'), providerEnv('datadog'))).toBe(true);
    expect(isConfigured(connector('stripe'), providerEnv('stripe'))).toBe(true);
  });
});

describe('isOAuthAvailable', () => {
  it('offers Stripe Connect only once its client credentials are set', () => {
    const stripe = connector('stripe');
    expect(isOAuthAvailable(stripe, providerEnv('stripe'))).toBe(false);
    const env = providerEnv('stripe', { STRIPE_CLIENT_ID: 'ca_123', STRIPE_CLIENT_SECRET: 'sk_test_123' });
    expect(isOAuthAvailable(stripe, env)).toBe(true);
  });

  it('never offers OAuth for a key-only connector', () => {
    const env = providerEnv('datadog', { DATADOG_CLIENT_ID: 'id', DATADOG_CLIENT_SECRET: 'secret' });
    expect(isOAuthAvailable(connector('datadog'), env)).toBe(false);
  });
});
