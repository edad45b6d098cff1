// Reading GitLab's token answer: `created_at` (epoch seconds) comes with every token, and some GitLab versions
// omit `expires_in` although every token expires after 2 h since GitLab 15.0 (gitlab#360729).
import { z } from 'zod';
import type { TokenResponse } from '../types.js';

/** The lifetime GitLab gives every OAuth access token since 15.0. */
export const GITLAB_ACCESS_TTL_SECONDS = 7200;

const seconds = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().nonnegative());

const success = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: seconds.optional(),
  refresh_token: z.string().min(1).optional(),
  scope: z.string().optional(),
  created_at: seconds.optional(),
});

/**
 * When the token expires, in ms: `created_at + expires_in` (7200 s when absent). GitLab's clock is not ours,
 * so `created_at` may only bring the expiry earlier than `now + lifetime` (refreshing early is harmless,
 * late is not), and never by more than half the lifetime: beyond that the clocks disagree, not the token.
 */
export function gitlabExpiresAt(input: { createdAt?: number; expiresIn?: number }, now = Date.now()): number {
  const lifetimeMs = (input.expiresIn ?? GITLAB_ACCESS_TTL_SECONDS) * 1000;
  const fromNow = now + lifetimeMs;
  if (input.createdAt === undefined) return fromNow;
  const fromCreated = input.createdAt * 1000 + lifetimeMs;
  return fromCreated < fromNow && fromCreated >= now + lifetimeMs / 2 ? fromCreated : fromNow;
}

/** Errors and odd answers are left to the standard reading (undefined). */
export function parseGitLabTokenResponse(response: { status: number; body: Record<string, unknown> }, now = Date.now()): TokenResponse | undefined {
  const { status, body } = response;
  if (status < 200 || status >= 300 || body.error !== undefined) return undefined;
  const parsed = success.safeParse(body);
  if (!parsed.success) return undefined;
  const t = parsed.data;
  return {
    ok: true,
    raw: body,
    tokens: {
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: new Date(gitlabExpiresAt({ createdAt: t.created_at, expiresIn: t.expires_in }, now)).toISOString(),
      scopes: t.scope?.split(/\s+/).filter(Boolean),
      tokenType: t.token_type,
    },
  };
}
