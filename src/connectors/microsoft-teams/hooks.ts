// Microsoft Teams provider code: the signed-in user is the account, its Entra tenant (the `tid` claim) the
// routing key; Entra's AADSTS codes that mean the grant is gone.
import { z } from 'zod';
import type { ConnectorHooks } from '../types.js';
import { entraClaimsOf } from './jwt-claims.js';
import { parseEntraTokenResponse } from './token-response.js';

const me = z.object({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
  mail: z.string().nullish(),
});

/** Errors that only the user can clear: re-consent, MFA, sign-in. */
const DEAD_ERRORS = new Set(['interaction_required', 'consent_required', 'login_required']);
/**
 * AADSTS700082 expired after inactivity, AADSTS70008 expired, AADSTS700084 SPA lifetime reached,
 * AADSTS50173 grant revoked (password reset …), AADSTS65001 consent withdrawn.
 */
const DEAD_AADSTS = /\bAADSTS(700082|70008|700084|50173|65001)\b/;

export const hooks: ConnectorHooks = {
  parseTokenResponse: parseEntraTokenResponse,

  async afterConnect({ tokens, raw, http, endpoints }) {
    const body = await http.json(`${endpoints.apiBaseUrl}/me?$select=id,displayName,userPrincipalName,mail`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    const user = me.parse(body);
    // The token answer names no tenant. Work accounts get JWT access tokens carrying `tid`; a personal
    // account's token is opaque, and then the ID token (when openid was granted) says it. Without either the
    // connection works, but change notifications cannot be routed by tenant.
    const idToken = typeof raw.id_token === 'string' ? raw.id_token : undefined;
    const tenantId = entraClaimsOf(tokens.accessToken)?.tid ?? entraClaimsOf(idToken)?.tid;
    const metadata: Record<string, string> = { userId: user.id };
    if (tenantId) metadata.tenantId = tenantId;
    if (user.userPrincipalName) metadata.userPrincipalName = user.userPrincipalName;
    return {
      id: user.id,
      name: user.displayName ?? user.userPrincipalName ?? user.mail ?? user.id,
      metadata,
      routingKeys: [...(tenantId ? [`tenant:${tenantId}`] : []), `user:${user.id}`],
    };
  },

  isDeadGrant: ({ error, description }) => DEAD_ERRORS.has(error) || DEAD_AADSTS.test(description ?? ''),
};
