// GitLab's token answer: expiry from created_at (+ 7200 s when expires_in is missing), clock skew contained.
import { describe, expect, it } from 'vitest';
import { gitlabExpiresAt, parseGitLabTokenResponse } from './token-response.js';

const now = Date.UTC(2026, 0, 1, 12, 0, 0);
const nowS = now / 1000;

describe('gitlabExpiresAt', () => {
  it('is created_at + expires_in', () => {
    expect(gitlabExpiresAt({ createdAt: nowS - 60, expiresIn: 7200 }, now)).toBe(now + 7140_000);
  });

  it('assumes 7200 s when expires_in is missing', () => {
    expect(gitlabExpiresAt({ createdAt: nowS - 600 }, now)).toBe(now + 6600_000);
    expect(gitlabExpiresAt({}, now)).toBe(now + 7200_000);
  });

  it('never trusts a created_at ahead of our clock to push the expiry later', () => {
    expect(gitlabExpiresAt({ createdAt: nowS + 900, expiresIn: 7200 }, now)).toBe(now + 7200_000);
  });

  it('ignores a created_at so old that only the clocks can disagree that much', () => {
    expect(gitlabExpiresAt({ createdAt: nowS - 5000, expiresIn: 7200 }, now)).toBe(now + 7200_000);
  });
});

describe('parseGitLabTokenResponse', () => {
  it('reads a token answer without expires_in', () => {
    const parsed = parseGitLabTokenResponse(
      { status: 200, body: { access_token: 'at', token_type: 'Bearer', refresh_token: 'rt', scope: 'read_api read_user', created_at: nowS - 300 } },
      now,
    );
    expect(parsed).toEqual({
      ok: true,
      raw: expect.any(Object),
      tokens: { accessToken: 'at', refreshToken: 'rt', tokenType: 'Bearer', scopes: ['read_api', 'read_user'], expiresAt: new Date(now + 6900_000).toISOString() },
    });
  });

  it('leaves errors and answers without a token to the standard reading', () => {
    expect(parseGitLabTokenResponse({ status: 400, body: { error: 'invalid_grant' } }, now)).toBeUndefined();
    expect(parseGitLabTokenResponse({ status: 200, body: { error: 'invalid_grant' } }, now)).toBeUndefined();
    expect(parseGitLabTokenResponse({ status: 200, body: { token_type: 'Bearer' } }, now)).toBeUndefined();
  });
});
