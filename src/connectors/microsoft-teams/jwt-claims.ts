// Reading claims out of an Entra token without verifying it: the token came straight from the token endpoint
// over TLS, and the claims only name the tenant; nothing is authorized on them.
import { z } from 'zod';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const claimsSchema = z.object({
  tid: z.string().regex(GUID).optional(),
  oid: z.string().regex(GUID).optional(),
});

export type EntraClaims = z.infer<typeof claimsSchema>;

/**
 * The `tid` / `oid` claims of a compact JWT, or undefined when the token is not one: personal Microsoft
 * accounts get opaque access tokens (`EwB…`), and Microsoft says access tokens are not for clients to parse.
 */
export function entraClaimsOf(token: string | undefined): EntraClaims | undefined {
  const parts = token?.split('.');
  if (!parts || parts.length !== 3 || !parts[1]) return undefined;
  try {
    const parsed = claimsSchema.safeParse(JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
