// Reading a verified Slack delivery: the Events API envelope (JSON), an interactivity payload (form-encoded, JSON in
// `payload`), or the url_verification challenge; and the workspace or Enterprise Grid org each one belongs to.
import { z } from 'zod';
import { derivedDeliveryId, parseJson } from '../../lib/webhook-signature.js';

// Routing fields are read leniently (`catch`): a verified delivery is never refused over a field only routing reads.
const optionalId = z.string().min(1).nullish().catch(undefined);

const authorization = z.object({ enterprise_id: optionalId, team_id: optionalId, is_enterprise_install: z.boolean().optional().catch(undefined) });

/** The Events API wrapper; `authorizations` names the installation the event is for (at most one since 2021). */
const envelope = z.looseObject({
  type: z.string().min(1),
  team_id: optionalId,
  enterprise_id: optionalId,
  authorizations: z.array(authorization).nullish().catch(undefined),
});

const eventCallback = z.looseObject({
  type: z.literal('event_callback'),
  event_id: z.string().min(1).max(255),
  event: z.looseObject({ type: z.string().min(1).max(100), subtype: z.string().min(1).max(100).optional() }),
});

// Slack's challenges are short opaque strings; anything else is not a challenge to echo.
const urlVerification = z.object({ type: z.literal('url_verification'), challenge: z.string().regex(/^[\w.~+/=-]{1,512}$/) });

/** block_actions, view_submission, shortcut …: the installation is named like in Bolt's authorize source. */
const interaction = z.looseObject({
  type: z.string().min(1).max(100),
  is_enterprise_install: z.boolean().optional().catch(undefined),
  team: z.object({ id: z.string().min(1), enterprise_id: optionalId }).nullish().catch(undefined),
  enterprise: z.object({ id: z.string().min(1) }).nullish().catch(undefined),
  user: z.object({ team_id: optionalId }).nullish().catch(undefined),
  view: z.object({ app_installed_team_id: optionalId }).nullish().catch(undefined),
});

export interface SlackEvent {
  deliveryId: string;
  eventType: string;
  routingKeys: string[];
  payload: Record<string, unknown>;
}

export type SlackDelivery =
  | { kind: 'challenge'; challenge: string }
  | { kind: 'event'; event: SlackEvent }
  | { kind: 'interaction'; event: SlackEvent };

/** Fields never kept: the legacy verification token (a shared secret) and response URLs (30-minute capabilities). */
const NOT_KEPT = new Set(['token', 'response_url', 'response_urls']);
const kept = (body: Record<string, unknown>) => Object.fromEntries(Object.entries(body).filter(([k]) => !NOT_KEPT.has(k)));

function routeKey(teamId: string | null | undefined, enterpriseId: string | null | undefined, enterpriseInstall: boolean | undefined): string[] {
  // An org-wide install has no workspace of its own: the org is the account (see hooks.ts afterConnect).
  if (enterpriseInstall && enterpriseId) return [`enterprise:${enterpriseId}`];
  if (teamId) return [`team:${teamId}`];
  return enterpriseId ? [`enterprise:${enterpriseId}`] : [];
}

/**
 * The installation the event belongs to: the authorization Slack names, else the envelope's workspace. The org is
 * used only for an org-wide install: a workspace install inside a Grid org also holds `enterprise:E…`, and an event
 * for one workspace must not reach (or disconnect) its sibling workspaces' connections.
 */
function envelopeKeys(e: z.infer<typeof envelope>): string[] {
  const auth = e.authorizations?.[0];
  if (auth) return routeKey(auth.team_id, auth.enterprise_id, auth.is_enterprise_install);
  return routeKey(e.team_id, e.enterprise_id, false);
}

function interactionKeys(p: z.infer<typeof interaction>): string[] {
  const enterpriseId = p.enterprise?.id ?? p.team?.enterprise_id;
  return routeKey(p.view?.app_installed_team_id ?? p.team?.id ?? p.user?.team_id, enterpriseId, p.is_enterprise_install);
}

function readForm(raw: Buffer): SlackDelivery | undefined {
  const text = new URLSearchParams(raw.toString('utf8')).get('payload');
  if (text === null) return undefined;
  const body = parseJson(text);
  const parsed = interaction.safeParse(body);
  if (!parsed.success) return undefined;
  return {
    kind: 'interaction',
    event: {
      // Interactions carry no delivery id; the payload itself is what a retry would repeat.
      deliveryId: derivedDeliveryId('interaction', text),
      eventType: parsed.data.type,
      routingKeys: interactionKeys(parsed.data),
      payload: kept(body as Record<string, unknown>),
    },
  };
}

function readJson(raw: Buffer): SlackDelivery | undefined {
  const body = parseJson(raw);
  const challenge = urlVerification.safeParse(body);
  if (challenge.success) return { kind: 'challenge', challenge: challenge.data.challenge };
  const wrapper = envelope.safeParse(body);
  // A challenge that is not a plain token is refused, never kept as an event.
  if (!wrapper.success || wrapper.data.type === 'url_verification') return undefined;
  // The body as sent (the schemas above only read it), minus what is never kept.
  const payload = kept(body as Record<string, unknown>);
  if (wrapper.data.type === 'event_callback') {
    const callback = eventCallback.safeParse(body);
    if (!callback.success) return undefined;
    const { type, subtype } = callback.data.event;
    // Message subtypes are different events (a topic change is not a chat line), as `event.action` is elsewhere.
    const eventType = type === 'message' && subtype ? `message.${subtype}` : type;
    return { kind: 'event', event: { deliveryId: callback.data.event_id, eventType, routingKeys: envelopeKeys(wrapper.data), payload } };
  }
  // Other envelope types (app_rate_limited) carry no event_id: the body is what a retry repeats.
  const { type } = wrapper.data;
  if (type.length > 100) return undefined;
  return { kind: 'event', event: { deliveryId: derivedDeliveryId(type, raw), eventType: type, routingKeys: envelopeKeys(wrapper.data), payload } };
}

/** The delivery's content, or undefined when it is none of Slack's shapes. */
export function readSlackDelivery(raw: Buffer, contentType: string | undefined): SlackDelivery | undefined {
  return contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded') ? readForm(raw) : readJson(raw);
}
