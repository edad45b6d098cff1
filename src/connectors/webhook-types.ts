// What a connector declares about inbound webhooks: how a delivery is verified and read, what it changes, and
// (for providers that need one per connection) how the hub subscribes at the provider.
import type { ProviderEnv } from '../config.js';
import type { ProviderApi } from './types.js';

/** One inbound HTTP request, as the connector sees it. */
export interface WebhookRequest {
  /** The body exactly as received: signatures are computed over these bytes. */
  rawBody: Buffer;
  /** Lower-case header names; a repeated header is joined with ', ' (as Node does). */
  headers: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, string>>;
  /** The connection named by the URL (`/webhooks/:slug/:integrationId`), when the provider needs one (Asana). */
  integrationId?: string;
  now: Date;
}

/** An answer the provider expects verbatim (a handshake echo, an empty 200, Xero's bare 401). */
export interface WebhookReply {
  status: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One event of a verified delivery, as it is stored in the inbox. */
export interface InboundEvent {
  /** Unique per connector and stable across the provider's redeliveries (derived from the payload when the
   *  provider sends no id). The de-duplication key. */
  deliveryId: string;
  /** The provider's event name (`pull_request.opened`, `invoice.paid`, `app_uninstalled` …). */
  eventType: string;
  /** Tenant keys the event belongs to, matched against connections' routing keys (`team:T123`, `realm:4620`). */
  routingKeys: string[];
  /** The connection the delivery names directly (Asana's URL, a Graph subscription, a Google channel). */
  connectionId?: string;
  /** What is kept and processed: the parsed body, or the part of it that is this event. Never secrets. */
  payload: unknown;
}

export type WebhookVerdict =
  /** Verified: store the events (de-duplicated) and answer `reply` (default 200 `{"ok":true}`). `dropped` names
   *  the items of a batch that failed verification and were left out (counted as rejections). */
  | { outcome: 'accepted'; events: InboundEvent[]; reply?: WebhookReply; dropped?: WebhookRejection[] }
  /** A handshake or a message to acknowledge and forget (Slack url_verification, Google `sync`): nothing stored.
   *  `notice` is logged at info for the operator (never a secret: fingerprints at most). */
  | { outcome: 'handshake'; reply: WebhookReply; notice?: { message: string; fields?: Record<string, string | number | boolean> } }
  /** Failed verification: nothing stored; 401 problem+json unless the provider expects another answer. */
  | { outcome: 'rejected'; reason: WebhookRejection; reply?: WebhookReply }
  /** The secret this delivery needs is not configured: 503 `webhook_not_configured`, nothing accepted. */
  | { outcome: 'not_configured'; detail: string };

/** Why a delivery was refused (a metrics label: a small, fixed set). */
export type WebhookRejection =
  | 'missing_signature'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'unknown_subscription'
  | 'malformed';

/** A per-subscription secret the hub created (Graph clientState, Google channel token, Asana hook secret). */
export interface SubscriptionSecret {
  /** The hub's id of the subscription (`whs_…`). */
  subscriptionId: string;
  connectionId: string;
  /** The provider's id of it (Graph subscription id, Google channel id, Asana webhook gid, Jira webhook id). */
  externalId: string | null;
  secret: string;
}

export interface WebhookVerifyContext {
  /** The connector's app-level secrets, by environment variable name; undefined when not set. */
  secret(name: string): string | undefined;
  /** The connector's OAuth client credentials (Jira signs dynamic-webhook JWTs with the client secret). */
  providerEnv: ProviderEnv;
  /** A subscription by the provider's id for it, with its secret. */
  subscription(externalId: string): Promise<SubscriptionSecret | undefined>;
  /** The live subscriptions of one connection, with their secrets (Asana's URL names the connection, not the hook). */
  subscriptionsOf(connectionId: string): Promise<SubscriptionSecret[]>;
  /**
   * Asana's handshake: keeps `secret` for the subscription the hub is creating for this connection right now.
   * False when the hub is creating none (an unsolicited handshake must never install a secret).
   */
  completeHandshake(connectionId: string, secret: string): Promise<boolean>;
}

/** What a stored event changes. Pure: decided from the event alone. */
export interface WebhookEffect {
  /** Widgets whose data the event changes: their recently read values are refreshed and announced. */
  widgets: string[];
  /** What the event means for the connection itself (app uninstalled → disconnected, tokens revoked → needs_reauth). */
  connection?: 'needs_reauth' | 'disconnected';
  /** What the event means for the subscription that delivered it (Graph lifecycle notifications). */
  subscription?: 'renew' | 'recreate';
}

/** Everything a subscription hook may use: the connection's authenticated API and where to send deliveries. */
export interface SubscriptionContext {
  api: ProviderApi;
  connectionId: string;
  metadata: Record<string, string>;
  /** The hub's public URL of this connector's webhook route (`…/webhooks/<slug>`). */
  webhookUrl: string;
  /** The same with the connection in the path (`…/webhooks/<slug>/<connectionId>`). */
  connectionWebhookUrl: string;
  providerEnv: ProviderEnv;
  /** The scopes the connection was granted (a plan skips what the user did not allow). */
  scopes: string[];
  now: Date;
}

/** One subscription to create: the hub stores it (pending) with a fresh secret before `create` runs. */
export interface SubscriptionPlan {
  /** What is watched (`/me/events`, a calendar id, an Asana workspace gid …). */
  resource: string;
}

export interface SubscriptionState {
  subscriptionId: string;
  externalId: string | null;
  resource: string;
  secret: string;
  expiresAt: Date | null;
  /** Provider facts needed later (Google's resourceId for channels.stop). */
  metadata: Record<string, string>;
}

/** Thrown by `renew` when the provider no longer has the subscription: the hub creates a new one instead. */
export class SubscriptionGoneError extends Error {
  constructor(message = 'the subscription is gone at the provider') {
    super(message);
    this.name = 'SubscriptionGoneError';
  }
}

export interface CreatedSubscription {
  externalId: string;
  /** When the provider drops it unless renewed; null when it does not expire. */
  expiresAt: Date | null;
  metadata?: Record<string, string>;
}

/** Per-connection subscriptions the hub creates at the provider (Asana hooks, Graph subscriptions, Google channels, Jira dynamic webhooks). */
export interface WebhookSubscriptionHooks {
  /** OAuth scopes creating the subscriptions needs: requested on connect whenever the hub manages subscriptions. */
  scopes?: string[];
  /** What to watch for this connection. */
  plan(ctx: SubscriptionContext): Promise<SubscriptionPlan[]>;
  /** Creates one subscription; `subscription.secret` is a fresh random secret the hub already stored. */
  create(ctx: SubscriptionContext, subscription: SubscriptionState): Promise<CreatedSubscription>;
  /** Extends one before it expires; absent when the provider's renewal is a new subscription (then the hub recreates it).
   *  A 404 or SubscriptionGoneError means the provider lost it: the hub creates a replacement. */
  renew?(ctx: SubscriptionContext, subscription: SubscriptionState): Promise<{ expiresAt: Date | null }>;
  /** Deletes it at the provider (disconnect, or replaced by a new one). A 404 counts as done. */
  remove(ctx: SubscriptionContext, subscription: SubscriptionState): Promise<void>;
  /** Renew this long before `expiresAt` (default one hour, or half the lifetime when shorter). */
  renewAheadSeconds?: number;
}

export interface ConnectorWebhooks {
  /** App-level secrets (environment variable names), for the documentation and the readiness of the route. */
  secrets: string[];
  /** Verifies one request on its raw body and reads its events, or answers a handshake. Never throws on bad input. */
  receive(request: WebhookRequest, ctx: WebhookVerifyContext): Promise<WebhookVerdict>;
  /** What a stored event changes (declared per event type). */
  effects(event: { eventType: string; payload: unknown }): WebhookEffect;
  subscriptions?: WebhookSubscriptionHooks;
}
