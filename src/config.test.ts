import { describe, expect, it } from 'vitest';
import { ConfigError, knownVariables, parseConfig } from './config.js';

const KEY = 'a'.repeat(64);

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('parseConfig', () => {
  it('starts on embedded defaults with nothing set', () => {
    const config = parseConfig({});
    expect(config.port).toBe(3006);
    expect(config.env).toBe('development');
    expect(config.dataDir).toBe('./.data');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.auth.audience).toBe('integration-hub');
    expect(config.refreshAheadSeconds).toBe(600);
    expect(config.publicUrl).toBe('http://localhost:3006');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.providers)).toBe(true);
  });

  it('names each bad variable and how to fix it', () => {
    const problems = problemsOf({ PORT: 'abc', TOKEN_ENCRYPTION_KEY: 'short', REDIS_URL: 'http://x', SLACK_TOKEN_URL: 'not a url' });
    expect(problems.find((p) => p.startsWith('PORT:'))).toBeDefined();
    expect(problems.find((p) => p.startsWith('TOKEN_ENCRYPTION_KEY:'))).toMatch(/64 hex/);
    expect(problems.find((p) => p.startsWith('REDIS_URL:'))).toBeDefined();
    expect(problems.find((p) => p.startsWith('SLACK_TOKEN_URL:'))).toBeDefined();
  });

  it('requires the secrets and real backends in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'TOKEN_ENCRYPTION_KEY',
      'AUTH_JWT_SECRET or AUTH_JWKS_URL',
      'DATABASE_URL',
      'REDIS_URL',
    ]);
    const ok = parseConfig({
      NODE_ENV: 'production',
      TOKEN_ENCRYPTION_KEY: KEY,
      AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      DATABASE_URL: 'postgres://u@db:5432/hub',
      REDIS_URL: 'redis://cache:6379',
    });
    expect(ok.host).toBe('0.0.0.0');
  });

  it('refuses both a JWT secret and a JWKS URL', () => {
    expect(problemsOf({ AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_JWKS_URL: 'https://idp.example.com/jwks' })[0]).toMatch(/not both/);
  });

  it('reads previous keys, return origins and provider overrides', () => {
    const config = parseConfig({
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: `${'b'.repeat(64)}, ${'c'.repeat(64)}`,
      HUB_ALLOWED_RETURN_ORIGINS: 'https://app.example.com/path, http://localhost:5173',
      SLACK_CLIENT_ID: 'id',
      SLACK_TOKEN_URL: 'http://127.0.0.1:9000/api/oauth.v2.access',
      SLACK_SIGNING_SECRET: 'sig',
      EMPTY_IS_UNSET: '',
      GITHUB_API_URL: '',
    });
    expect(config.encryption.previousKeys).toEqual(['b'.repeat(64), 'c'.repeat(64)]);
    expect(config.allowedReturnOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(config.providers.slack).toMatchObject({ clientId: 'id', tokenUrl: 'http://127.0.0.1:9000/api/oauth.v2.access' });
    expect(config.providers.slack?.extra.SLACK_SIGNING_SECRET).toBe('sig');
    expect(config.providers.github?.apiUrl).toBeUndefined();
    expect(problemsOf({ TOKEN_ENCRYPTION_KEYS_PREVIOUS: 'nothex' })[0]).toMatch(/^TOKEN_ENCRYPTION_KEYS_PREVIOUS/);
  });

  it('knows the standard variables of every provider prefix', () => {
    const names = knownVariables();
    for (const prefix of ['SLACK', 'GOOGLE', 'MICROSOFT', 'NOTION', 'ASANA', 'GITHUB', 'GITLAB', 'JIRA', 'DATADOG', 'QUICKBOOKS', 'XERO', 'STRIPE']) {
      for (const suffix of ['CLIENT_ID', 'CLIENT_SECRET', 'AUTHORIZE_URL', 'TOKEN_URL', 'REVOKE_URL', 'API_URL']) {
        expect(names).toContain(`${prefix}_${suffix}`);
      }
    }
    expect(names).toEqual(expect.arrayContaining(['PORT', 'REDIS_URL', 'TOKEN_ENCRYPTION_KEY', 'DATABASE_URL', 'DATA_DIR', 'PUBLIC_URL', 'HOST', 'LOG_LEVEL']));
  });
});
