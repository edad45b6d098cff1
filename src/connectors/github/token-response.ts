// Reading GitHub's access_token answer: granted scopes come back comma-separated, and a GitHub App user token
// grants none (`scope=""`), which means "no OAuth scopes", not "not said".
import { z } from 'zod';
import type { TokenResponse } from '../types.js';

// Numbers arrive as strings when GitHub answers form-encoded (its default without Accept: application/json).
const seconds = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().positive());

const success = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  scope: z.string().optional(),
  // Only for expiring tokens (GitHub App user tokens, OAuth Apps with token expiration on): 8 h.
  expires_in: seconds.optional(),
  refresh_token: z.string().min(1).optional(),
  // The refresh token's own lifetime (6 months): after it the user must authorize again.
  refresh_token_expires_in: seconds.optional(),
});

const at = (now: number, s: number | undefined) => (s === undefined ? undefined : new Date(now + s * 1000).toISOString());

/** Errors (HTTP 200 with an `error` member included) and odd answers are left to the standard reading. */
export function parseGitHubTokenResponse(response: { status: number; body: Record<string, unknown> }, now = Date.now()): TokenResponse | undefined {
  const { status, body } = response;
  if (status < 200 || status >= 300 || body.error !== undefined) return undefined;
  const parsed = success.safeParse(body);
  if (!parsed.success) return undefined;
  const t = parsed.data;
  const refreshTokenExpiresAt = at(now, t.refresh_token_expires_in);
  return {
    ok: true,
    raw: body,
    tokens: {
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: at(now, t.expires_in),
      scopes: t.scope === undefined ? undefined : t.scope.split(/[\s,]+/).filter(Boolean),
      tokenType: t.token_type,
      ...(refreshTokenExpiresAt ? { extra: { refreshTokenExpiresAt } } : {}),
    },
  };
}
