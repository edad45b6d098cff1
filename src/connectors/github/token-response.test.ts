// GitHub's token answer: comma-separated scopes, an App token's empty scope, form-encoded numbers, errors left alone.
import { describe, expect, it } from 'vitest';
import { parseGitHubTokenResponse } from './token-response.js';

const now = Date.UTC(2026, 0, 1);

describe('parseGitHubTokenResponse', () => {
  it('reads an OAuth App token: comma-separated scopes, no expiry, no refresh token', () => {
    expect(parseGitHubTokenResponse({ status: 200, body: { access_token: 'gho_x', scope: 'repo,read:org', token_type: 'bearer' } }, now)).toEqual({
      ok: true,
      raw: expect.any(Object),
      tokens: { accessToken: 'gho_x', refreshToken: undefined, expiresAt: undefined, scopes: ['repo', 'read:org'], tokenType: 'bearer' },
    });
  });

  it('reads a GitHub App user token sent form-encoded: numbers as strings, an empty scope is no scopes', () => {
    const body = Object.fromEntries(
      new URLSearchParams('access_token=ghu_x&expires_in=28800&refresh_token=ghr_y&refresh_token_expires_in=15897600&scope=&token_type=bearer'),
    );
    const parsed = parseGitHubTokenResponse({ status: 200, body }, now);
    expect(parsed).toMatchObject({
      ok: true,
      tokens: {
        accessToken: 'ghu_x',
        refreshToken: 'ghr_y',
        expiresAt: new Date(now + 28_800_000).toISOString(),
        scopes: [],
        extra: { refreshTokenExpiresAt: new Date(now + 15_897_600_000).toISOString() },
      },
    });
  });

  it('leaves errors, HTTP-200 ones included, to the standard reading', () => {
    expect(parseGitHubTokenResponse({ status: 200, body: { error: 'bad_refresh_token', error_description: 'x' } }, now)).toBeUndefined();
    expect(parseGitHubTokenResponse({ status: 401, body: { message: 'Bad credentials' } }, now)).toBeUndefined();
    expect(parseGitHubTokenResponse({ status: 200, body: { token_type: 'bearer' } }, now)).toBeUndefined();
  });
});
