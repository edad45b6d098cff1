// GitLab webhooks (project, group and system hooks): verified by the secret token or the signing token
// (webhook-auth.ts), de-duplicated on Idempotency-Key, routed by instance host + project id, or to the connection
// the hook's URL names (`/webhooks/gitlab/<integrationId>`, for projects the connection did not list at connect).
import { isId } from '../../lib/ids.js';
import { derivedDeliveryId, parseJson } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect, WebhookRequest } from '../webhook-types.js';
import { SECRET_TOKEN, SIGNING_TOKEN, verifyGitLabDelivery } from './webhook-auth.js';

interface GitLabPayload {
  object_kind?: unknown;
  /** System hooks name most of their events here instead (`project_create`, `user_add_to_team` …). */
  event_name?: unknown;
  action?: unknown;
  object_attributes?: { action?: unknown } | null;
  project?: { id?: unknown; web_url?: unknown } | null;
  project_id?: unknown;
}

const text = (value: unknown) => (typeof value === 'string' && value.length > 0 && value.length <= 100 ? value : undefined);
const numericId = (value: unknown) => (typeof value === 'number' || typeof value === 'string') && /^\d{1,12}$/.test(String(value)) ? String(value) : undefined;

/** `merge_request.open`, `issue.close`, `release.create`, `pipeline`, `push`, `project_destroy` … */
function eventTypeOf(p: GitLabPayload, header: string | undefined): string | undefined {
  const kind = text(p.object_kind) ?? text(p.event_name) ?? (header ? header.toLowerCase().replace(/ hook$/, '').replace(/\s+/g, '_') : undefined);
  if (!kind) return undefined;
  const action = text(p.object_attributes?.action) ?? text(p.action);
  return action ? `${kind}.${action}` : kind;
}

/** The instance host: the X-Gitlab-Instance header (`https://gitlab.com`), else the project's web URL. */
function hostOf(request: WebhookRequest, p: GitLabPayload): string | undefined {
  for (const candidate of [request.headers['x-gitlab-instance'], text(p.project?.web_url)]) {
    if (!candidate || candidate.length > 2048) continue;
    try {
      return new URL(/^https?:\/\//i.test(candidate) ? candidate : `https://${candidate}`).host.toLowerCase();
    } catch {
      // not a URL: try the next
    }
  }
  return undefined;
}

/** `project:<host>/<id>`, the keys afterConnect stores for the projects the user is a member of. */
function routingKeys(request: WebhookRequest, p: GitLabPayload): string[] {
  const host = hostOf(request, p);
  if (!host) return [];
  const ids = new Set([numericId(p.project?.id), numericId(p.project_id)].filter((id) => id !== undefined));
  return [...ids].map((id) => `project:${host}/${id}`);
}

const BOTH = ['open-merge-requests', 'pipeline-status'];
/** Widgets each event changes (by the event's kind, before the action). */
const WIDGETS_BY_EVENT: Record<string, string[]> = {
  merge_request: ['open-merge-requests'],
  pipeline: ['pipeline-status'],
  // Job events (`Job Hook`) are `build` in the payload.
  build: ['pipeline-status'],
  // System hooks: a project gone, renamed or moved changes what both widgets can show for it.
  project_destroy: BOTH,
  project_rename: BOTH,
  project_transfer: BOTH,
};

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET_TOKEN, SIGNING_TOKEN],

  async receive(request, ctx) {
    const refused = verifyGitLabDelivery(request, ctx);
    if (refused) return refused;

    const payload = parseJson(request.rawBody) as GitLabPayload | undefined;
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { outcome: 'rejected', reason: 'malformed' };
    const eventType = eventTypeOf(payload, request.headers['x-gitlab-event']);
    if (!eventType) return { outcome: 'rejected', reason: 'malformed' };
    // The URL an operator gives a hook to pin it to one connection: only the shape can be checked here; the
    // processor applies the event only if that id is a live GitLab connection.
    if (request.integrationId !== undefined && !isId('connection', request.integrationId)) return { outcome: 'rejected', reason: 'unknown_subscription' };

    const h = request.headers;
    return {
      outcome: 'accepted',
      events: [
        {
          // Idempotency-Key (= webhook-id) is stable across GitLab's retries; X-Gitlab-Event-UUID names the event.
          deliveryId: h['idempotency-key'] || h['webhook-id'] || h['x-gitlab-event-uuid'] || derivedDeliveryId(eventType, request.rawBody),
          eventType,
          routingKeys: routingKeys(request, payload),
          ...(request.integrationId ? { connectionId: request.integrationId } : {}),
          payload,
        },
      ],
    };
  },

  // No lifecycle effects: GitLab sends no "application revoked" event, and the tokens that authenticate hooks are
  // shared by every customer's hooks, so an event must never be able to disconnect a connection.
  effects({ eventType }): WebhookEffect {
    return { widgets: WIDGETS_BY_EVENT[eventType.split('.')[0]!] ?? [] };
  },
};
