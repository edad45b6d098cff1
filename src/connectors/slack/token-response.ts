// Reading Slack's oauth.v2.access answer: a Web API envelope (`ok`), a top-level bot token, a nested user token.
import { z } from 'zod';
import type { TokenResponse, TokenSet } from '../types.js';

const team = z.object({ id: z.string().min(1), name: z.string().optional() });

const authedUser = z.object({
  id: z.string().min(1),
  scope: z.string().optional(),
  access_token: z.string().min(1).optional(),
  token_type: z.string().optional(),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().positive().optional(),
});

/** The answer of oauth.v2.access when `ok` is true: code exchange and (with token rotation) refresh alike. */
export const slackAccessSchema = z.object({
  ok: z.literal(true),
  access_token: z.string().min(1).optional(),
  token_type: z.string().optional(),
  scope: z.string().optional(),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().positive().optional(),
  bot_user_id: z.string().optional(),
  app_id: z.string().optional(),
  // Null for an org-wide Enterprise Grid install, where `enterprise` names the account instead.
  team: team.nullish(),
  enterprise: team.nullish(),
  is_enterprise_install: z.boolean().optional(),
  authed_user: authedUser.optional(),
  incoming_webhook: z.object({ url: z.string().min(1), channel: z.string().optional(), channel_id: z.string().optional() }).optional(),
});

const scopesOf = (scope: string | undefined) => scope?.split(',').map((s) => s.trim()).filter(Boolean);
const expiresAtOf = (seconds: number | undefined) => (seconds ? new Date(Date.now() + seconds * 1000).toISOString() : undefined);

/**
 * Slack reports failures as HTTP 200 with `ok:false` (the standard reading would see a success without a
 * token), and keeps the user's token under `authed_user`. The bot token is the connection's token; the user
 * token, when user scopes were granted, travels sealed in `extra`. An install with user scopes only has no
 * bot token: then the user token is the one we have.
 */
export function parseSlackTokenResponse(response: { status: number; body: Record<string, unknown> }): TokenResponse | undefined {
  const { status, body } = response;
  if (body.ok === false) {
    return { ok: false, status, error: typeof body.error === 'string' && body.error ? body.error : 'slack_error' };
  }
  // Not the envelope (an HTTP 400 `{"error":"invalid_grant"}`, a proxy's 5xx …): the standard reading applies.
  if (body.ok !== true) return undefined;
  const parsed = slackAccessSchema.safeParse(body);
  if (!parsed.success) return { ok: false, status, error: 'invalid_token_response', description: 'unexpected oauth.v2.access answer' };
  const a = parsed.data;
  const user = a.authed_user;

  let tokens: TokenSet;
  if (a.access_token) {
    tokens = {
      accessToken: a.access_token,
      refreshToken: a.refresh_token,
      expiresAt: expiresAtOf(a.expires_in),
      scopes: scopesOf(a.scope),
      tokenType: a.token_type ?? 'bot',
    };
    if (user?.access_token) {
      tokens.extra = {
        authedUser: {
          id: user.id,
          accessToken: user.access_token,
          refreshToken: user.refresh_token,
          expiresAt: expiresAtOf(user.expires_in),
          scopes: scopesOf(user.scope),
        },
      };
    }
  } else if (user?.access_token) {
    tokens = {
      accessToken: user.access_token,
      refreshToken: user.refresh_token,
      expiresAt: expiresAtOf(user.expires_in),
      scopes: scopesOf(user.scope),
      tokenType: user.token_type ?? 'user',
    };
  } else {
    return { ok: false, status, error: 'invalid_token_response', description: 'no bot or user token in the answer' };
  }
  // The incoming-webhook URL posts into a channel without any other credential: a secret, so sealed too.
  if (a.incoming_webhook) tokens.extra = { ...tokens.extra, incomingWebhookUrl: a.incoming_webhook.url };
  return { ok: true, tokens, raw: body };
}
