// Jira's two ways of authenticating a webhook delivery: a bearer JWT signed with the OAuth app's client secret
// (webhooks the app registered through the REST API) and X-Hub-Signature (admin webhooks created with a secret).
import { errors, jwtVerify } from 'jose';
import { hmacHexMatches } from '../../lib/webhook-signature.js';
import type { WebhookRequest, WebhookVerdict, WebhookVerifyContext } from '../webhook-types.js';

export const ADMIN_SECRET = 'JIRA_WEBHOOK_SECRET';

/** Clocks disagree: the JWT's expiry is honoured with this much slack (seconds). */
const CLOCK_TOLERANCE_SECONDS = 120;

export type JiraScheme = 'app' | 'admin';

/**
 * Atlassian documents the token as signed with the client secret and nothing of its claims; deliveries seen
 * carry iss, sub, iat, exp, jti and context. So: HS256 only (no `none`, no algorithm of the sender's choosing),
 * a valid signature, and an `exp` not passed. Connect's `qsh` does not apply to these webhooks.
 */
async function verifyAppJwt(authorization: string, clientSecret: string, now: Date): Promise<WebhookVerdict | undefined> {
  // "Bearer" as documented; Connect's "JWT" scheme name is read too.
  const token = /^(?:Bearer|JWT)\s+([A-Za-z0-9_.-]{1,8192})$/i.exec(authorization.trim())?.[1];
  if (!token) return { outcome: 'rejected', reason: 'missing_signature' };
  try {
    await jwtVerify(token, new TextEncoder().encode(clientSecret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
    });
    return undefined;
  } catch (error) {
    const tooEarlyOrLate = error instanceof errors.JWTExpired || (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf');
    return { outcome: 'rejected', reason: tooEarlyOrLate ? 'stale_timestamp' : 'bad_signature' };
  }
}

/** `X-Hub-Signature: method=signature` (WebSub); Jira signs with HMAC-SHA256, so the method must be sha256. */
function verifyAdminSignature(header: string, secret: string, rawBody: Buffer): WebhookVerdict | undefined {
  const [method, signature] = header.trim().split('=', 2);
  if (method?.toLowerCase() !== 'sha256' || !signature || !/^[0-9a-fA-F]{64}$/.test(signature)) return { outcome: 'rejected', reason: 'bad_signature' };
  return hmacHexMatches('sha256', secret, signature, rawBody) ? undefined : { outcome: 'rejected', reason: 'bad_signature' };
}

/**
 * Verifies a delivery by the scheme its headers use: the bearer JWT when the app's client secret is configured,
 * else X-Hub-Signature when JIRA_WEBHOOK_SECRET is. Returns the scheme that verified it, or the verdict refusing it.
 */
export async function verifyJiraDelivery(request: WebhookRequest, ctx: WebhookVerifyContext): Promise<{ scheme: JiraScheme } | { refused: WebhookVerdict }> {
  const adminSecret = ctx.secret(ADMIN_SECRET);
  const clientSecret = ctx.providerEnv.clientSecret;
  if (!adminSecret && !clientSecret) {
    return { refused: { outcome: 'not_configured', detail: `Set JIRA_CLIENT_SECRET (app webhooks) or ${ADMIN_SECRET} (admin webhooks) to receive Jira webhooks.` } };
  }
  const authorization = request.headers.authorization;
  const hubSignature = request.headers['x-hub-signature'];
  if (authorization && clientSecret) {
    const refused = await verifyAppJwt(authorization, clientSecret, request.now);
    return refused ? { refused } : { scheme: 'app' };
  }
  if (hubSignature && adminSecret) {
    const refused = verifyAdminSignature(hubSignature, adminSecret, request.rawBody);
    return refused ? { refused } : { scheme: 'admin' };
  }
  if (authorization) return { refused: { outcome: 'not_configured', detail: 'This Jira webhook is signed by the OAuth app: set JIRA_CLIENT_SECRET.' } };
  if (hubSignature) return { refused: { outcome: 'not_configured', detail: `This Jira admin webhook is signed with a secret: set ${ADMIN_SECRET} to it.` } };
  return { refused: { outcome: 'rejected', reason: 'missing_signature' } };
}
