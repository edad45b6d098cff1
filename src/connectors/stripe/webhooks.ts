// Stripe webhooks: Stripe-Signature (`t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `${t}.${rawBody}` with the endpoint's
// whsec_ secret, any v1 may match while a secret rolls, 300 s tolerance), the event id as the de-duplication key, for
// snapshot events (`object: "event"`) and thin event notifications (`object: "v2.core.event"`) alike.
import { isId } from '../../lib/ids.js';
import { hmacHexMatches, parseJson, timestampWithin } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect, WebhookRequest } from '../webhook-types.js';

const SECRET = 'STRIPE_WEBHOOK_SECRET';
/** stripe-node's DEFAULT_TOLERANCE. */
const TOLERANCE_SECONDS = 300;
const ACCOUNT_ID = /^acct_[A-Za-z0-9]+$/;
const THIN_EVENT = 'v2.core.event';

interface StripeEvent {
  id?: unknown;
  object?: unknown;
  type?: unknown;
  /** Snapshot events of a connected account (Connect endpoints). */
  account?: unknown;
  /** Thin events: the account the event is about, `acct_…` or a path of them (`acct_parent/acct_child`). */
  context?: unknown;
}

/**
 * Stripe's own reading of the header: comma-separated `key=value` pairs, `t` once and `v1` as often as there are
 * live secrets; `v0` (test-mode legacy) and unknown schemes are ignored, never a reason to refuse.
 */
function parseSignatureHeader(header: string): { timestamp?: string; signatures: string[] } {
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    if (at < 0) continue;
    const key = item.slice(0, at).trim();
    const value = item.slice(at + 1).trim();
    if (key === 't') timestamp = value;
    else if (key === 'v1' && /^[0-9a-fA-F]{1,128}$/.test(value)) signatures.push(value);
  }
  return { timestamp, signatures };
}

/**
 * The account an event belongs to. Connect endpoints put the connected account in `account`; thin events put it in
 * `context`, whose last segment is the account acted on. The platform's own events name none.
 */
function accountOf(event: StripeEvent): string | undefined {
  const named = event.object === THIN_EVENT ? (typeof event.context === 'string' ? event.context.split('/').at(-1) : undefined) : event.account;
  return typeof named === 'string' && ACCOUNT_ID.test(named) ? named : undefined;
}

/** Thin notifications of v1 events are named `v1.<type>`: the same effects as the snapshot event. */
const baseType = (type: string) => (type.startsWith('v1.') ? type.slice(3) : type);

/** Events whose failure shows in the failed-payments list (a failed charge moves no money: the balance stays). */
const FAILED_PAYMENT = new Set(['charge.failed', 'payment_intent.payment_failed', 'invoice.payment_failed']);

function verify(request: WebhookRequest, secrets: string[]): 'ok' | 'missing_signature' | 'bad_signature' | 'stale_timestamp' {
  const header = request.headers['stripe-signature'];
  if (!header) return 'missing_signature';
  const { timestamp, signatures } = parseSignatureHeader(header);
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return 'missing_signature';
  const signed = secrets.some((secret) => signatures.some((given) => hmacHexMatches('sha256', secret, given, timestamp, '.', request.rawBody)));
  if (!signed) return 'bad_signature';
  // As Stripe's SDKs do: the age is checked only once the signature is known to be Stripe's.
  return timestampWithin(timestamp, request.now, TOLERANCE_SECONDS) ? 'ok' : 'stale_timestamp';
}

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET],

  async receive(request, ctx) {
    // Several secrets, comma-separated: a platform's account endpoint and its Connect endpoint sign apart.
    const secrets = (ctx.secret(SECRET) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (secrets.length === 0) return { outcome: 'not_configured', detail: `Set ${SECRET} to receive Stripe webhooks.` };
    const verdict = verify(request, secrets);
    if (verdict !== 'ok') return { outcome: 'rejected', reason: verdict };

    const event = parseJson(request.rawBody) as StripeEvent | undefined;
    if (!event || typeof event !== 'object' || Array.isArray(event)) return { outcome: 'rejected', reason: 'malformed' };
    const { id, type } = event;
    if (typeof id !== 'string' || !id || id.length > 255 || typeof type !== 'string' || !type || type.length > 255) {
      return { outcome: 'rejected', reason: 'malformed' };
    }
    // An event destination's test ping: acknowledged, nothing to process.
    if (event.object === THIN_EVENT && type === 'v2.core.event_destination.ping') {
      return { outcome: 'handshake', reply: { status: 200, body: '{"ok":true}', contentType: 'application/json' } };
    }

    const account = accountOf(event);
    // The platform's own events name no account: they reach the connection the endpoint's URL names
    // (/webhooks/stripe/<connectionId>). An event that names its account is routed by that alone.
    const connectionId = !account && request.integrationId && isId('connection', request.integrationId) ? request.integrationId : undefined;
    return {
      outcome: 'accepted',
      events: [
        {
          // Two endpoints (two connections' URLs) may both receive one event: each delivery is kept once per URL.
          deliveryId: connectionId ? `${id}@${connectionId}` : id,
          eventType: type,
          // Connect connections and restricted-key connections both hold `account:<id>` (account.ts).
          routingKeys: account ? [`account:${account}`] : [],
          ...(connectionId ? { connectionId } : {}),
          payload: event,
        },
      ],
    };
  },

  effects({ eventType }): WebhookEffect {
    const type = baseType(eventType);
    // The account took back the platform's OAuth access: the Connect token is dead. (A restricted-key connection
    // of the same account holds the same routing key and is disconnected too: effects cannot tell them apart.)
    if (type === 'account.application.deauthorized') return { widgets: [], connection: 'disconnected' };
    if (FAILED_PAYMENT.has(type)) return { widgets: ['failed-payments'] };
    // MRR is read from active subscriptions: their own events say when it changes (an invoice being paid does
    // not, and refetching every subscription on each invoice event would spend the rate limit for nothing).
    if (type.startsWith('customer.subscription.')) return { widgets: ['mrr'] };
    const object = type.split('.')[0];
    if (object === 'balance' || object === 'charge' || object === 'payout') return { widgets: ['balance'] };
    return { widgets: [] };
  },
};
