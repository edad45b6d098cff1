// Which Xero tenant a new grant is for: GET /connections lists every tenant the user ever gave the app.
import { z } from 'zod';

export const xeroConnectionsSchema = z.array(
  z.object({
    /** Xero's id of the user ↔ tenant connection (for DELETE /connections/{id}). */
    id: z.string().min(1),
    /** Shared by the connections authorised in one consent. */
    authEventId: z.string().nullish(),
    tenantId: z.string().min(1),
    tenantType: z.string().nullish(),
    tenantName: z.string().nullish(),
  }),
);

export type XeroConnection = z.infer<typeof xeroConnectionsSchema>[number];

const claimsSchema = z.object({ authentication_event_id: z.string().min(1).optional() });

/**
 * The `authentication_event_id` claim of a Xero access token (a JWT), read without verifying it: the token
 * comes straight from Xero's token endpoint over TLS, and the claim only picks among the user's own tenants.
 */
export function authEventIdOf(accessToken: string): string | undefined {
  const parts = accessToken.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    const parsed = claimsSchema.safeParse(payload);
    return parsed.success ? parsed.data.authentication_event_id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tenant just authorised: the only one, or the one whose authEventId matches the token's claim (an
 * organisation first, when the user picked several in one consent). Throws when it cannot tell: connecting
 * the wrong company's books is worse than asking the user to try again.
 */
export function pickTenant(connections: XeroConnection[], authEventId: string | undefined): XeroConnection {
  if (connections.length === 0) throw new Error('xero: the grant reaches no tenant');
  if (connections.length === 1) return connections[0]!;
  const matching = authEventId ? connections.filter((c) => c.authEventId === authEventId) : [];
  const chosen = matching.find((c) => c.tenantType === 'ORGANISATION') ?? matching[0];
  if (!chosen) throw new Error(`xero: ${connections.length} tenants and none matches this grant's authentication event`);
  return chosen;
}
