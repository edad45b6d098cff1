// GitLab's two ways of authenticating a webhook delivery: the secret token sent back in plaintext
// (X-Gitlab-Token), and the signing token (Standard Webhooks: webhook-signature over "{id}.{timestamp}.{body}").
import { hmacBase64Matches, safeEqual, timestampWithin } from '../../lib/webhook-signature.js';
import type { WebhookRequest, WebhookVerdict, WebhookVerifyContext } from '../webhook-types.js';

export const SECRET_TOKEN = 'GITLAB_WEBHOOK_TOKEN';
export const SIGNING_TOKEN = 'GITLAB_WEBHOOK_SIGNING_TOKEN';

/** Standard Webhooks' replay window (the `standardwebhooks` reference verifier uses the same, both ways). */
const TOLERANCE_SECONDS = 5 * 60;

/** `whsec_<base64 key>` as GitLab takes it (the prefix is optional for Standard Webhooks libraries). */
function signingKey(token: string): Buffer | undefined {
  const encoded = token.startsWith('whsec_') ? token.slice('whsec_'.length) : token;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length > 0 ? key : undefined;
}

function verifySigned(request: WebhookRequest, token: string): WebhookVerdict | undefined {
  const key = signingKey(token);
  if (!key) return { outcome: 'not_configured', detail: `${SIGNING_TOKEN} must be a signing token: whsec_ followed by a base64 key.` };
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const signatures = request.headers['webhook-signature'] ?? '';
  if (!id || !timestamp) return { outcome: 'rejected', reason: 'missing_signature' };
  // Several space-separated signatures while a token is rotated: any `v1,` one may match.
  const matches = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .some((entry) => hmacBase64Matches('sha256', key, entry.slice(3), `${id}.${timestamp}.`, request.rawBody));
  if (!matches) return { outcome: 'rejected', reason: 'bad_signature' };
  // Checked after the signature, so that only a genuine but old (or replayed) delivery is called stale.
  if (!timestampWithin(timestamp, request.now, TOLERANCE_SECONDS)) return { outcome: 'rejected', reason: 'stale_timestamp' };
  return undefined;
}

/**
 * Verifies a delivery by the scheme its headers use: `webhook-signature` (GitLab adds it only when the hook has a
 * signing token) when GITLAB_WEBHOOK_SIGNING_TOKEN is set, else `X-Gitlab-Token` when GITLAB_WEBHOOK_TOKEN is set.
 * A hook configured with both sends both; the signature, the stronger proof, decides then. Undefined: verified.
 */
export function verifyGitLabDelivery(request: WebhookRequest, ctx: WebhookVerifyContext): WebhookVerdict | undefined {
  const secretToken = ctx.secret(SECRET_TOKEN);
  const signingToken = ctx.secret(SIGNING_TOKEN);
  if (!secretToken && !signingToken) {
    return { outcome: 'not_configured', detail: `Set ${SECRET_TOKEN} (secret token) or ${SIGNING_TOKEN} (signing token) to receive GitLab webhooks.` };
  }
  const signature = request.headers['webhook-signature'];
  const token = request.headers['x-gitlab-token'];
  if (signature && signingToken) return verifySigned(request, signingToken);
  if (token && secretToken) return safeEqual(token, secretToken) ? undefined : { outcome: 'rejected', reason: 'bad_signature' };
  if (signature) return { outcome: 'not_configured', detail: `This GitLab webhook signs its deliveries: set ${SIGNING_TOKEN} to its signing token.` };
  if (token) return { outcome: 'not_configured', detail: `This GitLab webhook sends a secret token: set ${SECRET_TOKEN} to it.` };
  return { outcome: 'rejected', reason: 'missing_signature' };
}
