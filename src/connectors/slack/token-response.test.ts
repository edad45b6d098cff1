// The oauth.v2.access reading: envelope errors, where the tokens live, and what is refused.
import { describe, expect, it } from 'vitest';
import { parseSlackTokenResponse } from './token-response.js';

const team = { id: 'T1', name: 'Acme' };

describe('parseSlackTokenResponse', () => {
  it('reads ok:false with HTTP 200 as an error, even without an error member', () => {
    expect(parseSlackTokenResponse({ status: 200, body: { ok: false, error: 'invalid_code' } })).toEqual({ ok: false, status: 200, error: 'invalid_code' });
    expect(parseSlackTokenResponse({ status: 200, body: { ok: false } })).toMatchObject({ ok: false, error: 'slack_error' });
  });

  it('leaves answers outside the envelope to the standard reading', () => {
    expect(parseSlackTokenResponse({ status: 400, body: { error: 'invalid_grant' } })).toBeUndefined();
  });

  it('takes the top-level bot token and keeps the user token in extra', () => {
    const parsed = parseSlackTokenResponse({
      status: 200,
      body: {
        ok: true, access_token: 'xoxb-1', token_type: 'bot', scope: 'team:read,users:read', refresh_token: 'xoxe-1-r', expires_in: 43200, team,
        authed_user: { id: 'U1', scope: 'search:read', access_token: 'xoxp-1', token_type: 'user' },
        incoming_webhook: { url: 'https://hooks.slack.com/services/T1/B1/x', channel_id: 'C1' },
      },
    });
    expect(parsed).toMatchObject({
      ok: true,
      tokens: {
        accessToken: 'xoxb-1', refreshToken: 'xoxe-1-r', tokenType: 'bot', scopes: ['team:read', 'users:read'],
        extra: { authedUser: { id: 'U1', accessToken: 'xoxp-1', scopes: ['search:read'] }, incomingWebhookUrl: 'https://hooks.slack.com/services/T1/B1/x' },
      },
    });
    expect(parsed?.ok && Date.parse(parsed.tokens.expiresAt!) - Date.now()).toBeGreaterThan(43_000_000);
  });

  it('falls back to the user token for an install with user scopes only', () => {
    const parsed = parseSlackTokenResponse({ status: 200, body: { ok: true, team, authed_user: { id: 'U1', scope: 'search:read', access_token: 'xoxp-1', token_type: 'user' } } });
    expect(parsed).toMatchObject({ ok: true, tokens: { accessToken: 'xoxp-1', tokenType: 'user', scopes: ['search:read'] } });
  });

  it('refuses an ok:true answer without any token or with a malformed field', () => {
    expect(parseSlackTokenResponse({ status: 200, body: { ok: true, team, authed_user: { id: 'U1' } } })).toMatchObject({ ok: false, error: 'invalid_token_response' });
    expect(parseSlackTokenResponse({ status: 200, body: { ok: true, access_token: 42 } })).toMatchObject({ ok: false, error: 'invalid_token_response' });
  });
});
