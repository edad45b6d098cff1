// GitHub webhooks: X-Hub-Signature-256 (HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET), X-GitHub-Delivery
// as the de-duplication key (the same on a redelivery), `ping` acknowledged on creation. App webhooks route by
// `installation.id`; repository and organization hooks by the repository owner.
import { derivedDeliveryId, hmacHexMatches, parseJson } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect } from '../webhook-types.js';

const SECRET = 'GITHUB_WEBHOOK_SECRET';

interface GitHubPayload {
  action?: string;
  installation?: { id?: number };
  repository?: { id?: number; owner?: { id?: number; type?: string } };
  organization?: { id?: number };
  sender?: { id?: number };
}

/** A form-encoded delivery (a hook created with content type application/x-www-form-urlencoded) carries JSON in `payload`. */
function bodyOf(raw: Buffer, contentType: string | undefined): unknown {
  if (contentType?.startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
    return payload === null ? undefined : parseJson(payload);
  }
  return parseJson(raw);
}

function routingKeys(p: GitHubPayload): string[] {
  const keys: string[] = [];
  if (p.installation?.id) keys.push(`installation:${p.installation.id}`);
  const owner = p.repository?.owner;
  if (owner?.id && owner.type === 'User') keys.push(`user:${owner.id}`);
  if (owner?.id && owner.type === 'Organization') keys.push(`org:${owner.id}`);
  if (p.organization?.id) keys.push(`org:${p.organization.id}`);
  return [...new Set(keys)];
}

/** Widgets each event changes (event name, or `event.action`). */
const WIDGETS_BY_EVENT: Record<string, string[]> = {
  pull_request: ['open-pull-requests'],
  pull_request_review: ['open-pull-requests'],
  workflow_run: ['recent-workflow-runs'],
  check_suite: ['recent-workflow-runs'],
  // A new or deleted repository changes what both lists can show.
  repository: ['open-pull-requests', 'recent-workflow-runs'],
};

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET],

  async receive(request, ctx) {
    const secret = ctx.secret(SECRET);
    if (!secret) return { outcome: 'not_configured', detail: `Set ${SECRET} to receive GitHub webhooks.` };
    const signature = request.headers['x-hub-signature-256'];
    if (!signature?.startsWith('sha256=')) return { outcome: 'rejected', reason: 'missing_signature' };
    if (!hmacHexMatches('sha256', secret, signature.slice('sha256='.length), request.rawBody)) return { outcome: 'rejected', reason: 'bad_signature' };

    const event = request.headers['x-github-event'];
    const payload = bodyOf(request.rawBody, request.headers['content-type']) as GitHubPayload | undefined;
    if (!event || !payload || typeof payload !== 'object') return { outcome: 'rejected', reason: 'malformed' };
    // GitHub's hello on creating a hook: nothing to store.
    if (event === 'ping') return { outcome: 'handshake', reply: { status: 200, body: '{"ok":true}', contentType: 'application/json' } };

    return {
      outcome: 'accepted',
      events: [
        {
          deliveryId: request.headers['x-github-delivery'] ?? derivedDeliveryId(event, request.rawBody),
          eventType: payload.action ? `${event}.${payload.action}` : event,
          routingKeys: routingKeys(payload),
          payload,
        },
      ],
    };
  },

  effects({ eventType }): WebhookEffect {
    // The App was uninstalled: its tokens are gone with it. A user revoking the App's authorization ends the user token.
    if (eventType === 'installation.deleted') return { widgets: [], connection: 'disconnected' };
    if (eventType === 'github_app_authorization.revoked') return { widgets: [], connection: 'needs_reauth' };
    const event = eventType.split('.')[0]!;
    return { widgets: WIDGETS_BY_EVENT[event] ?? [] };
  },
};
