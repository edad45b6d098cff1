// Reading an Entra v2 token answer: scopes come back prefixed with the Graph resource and in any case
// (`https://graph.microsoft.com/user.read`), so they are put back to the names the connector declares.
import { z } from 'zod';
import type { TokenResponse } from '../types.js';
import { AVAILABLE_SCOPES } from './scopes.js';

const GRAPH_RESOURCE = /^https:\/\/graph\.microsoft\.com\//i;
const canonical = new Map(AVAILABLE_SCOPES.map((s) => [s.toLowerCase(), s]));

const success = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  // Seconds, randomly 60–90 minutes; sent as a number (older endpoints: a string).
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
  scope: z.string().optional(),
  refresh_token: z.string().min(1).optional(),
});

/** A granted scope by its declared name; one the connector does not declare keeps the provider's spelling. */
export function canonicalScope(scope: string): string {
  const bare = scope.replace(GRAPH_RESOURCE, '');
  return canonical.get(bare.toLowerCase()) ?? bare;
}

/** Errors and malformed answers are left to the standard reading (undefined). */
export function parseEntraTokenResponse(response: { status: number; body: Record<string, unknown> }): TokenResponse | undefined {
  const { status, body } = response;
  if (status < 200 || status >= 300 || body.error !== undefined) return undefined;
  const parsed = success.safeParse(body);
  if (!parsed.success) return undefined;
  const a = parsed.data;
  return {
    ok: true,
    tokens: {
      accessToken: a.access_token,
      refreshToken: a.refresh_token,
      expiresAt: a.expires_in && a.expires_in > 0 ? new Date(Date.now() + a.expires_in * 1000).toISOString() : undefined,
      scopes: a.scope ? [...new Set(a.scope.split(' ').filter(Boolean).map(canonicalScope))] : undefined,
      tokenType: a.token_type,
    },
    raw: body,
  };
}
