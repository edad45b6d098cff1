// The shape of a connector: a provider described as data, with its quirks as named fields.
import type { z } from 'zod';
import type { ProviderEnv } from '../config.js';
import type { ResolvedEndpoints } from './endpoints.js';
import type { ConnectorWebhooks } from './webhook-types.js';

export const ROLES = ['common', 'cto', 'cfo'] as const;
export type Role = (typeof ROLES)[number];

export const CATEGORIES = [
  'communication',
  'calendar',
  'knowledge',
  'project-management',
  'engineering',
  'observability',
  'finance',
  'payments',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** How the client authenticates at the token endpoint. */
export type ClientAuth = 'basic' | 'body';
/** How the token request body is encoded. */
export type TokenBodyFormat = 'form' | 'json';

/** How a provider's revocation call is made: revocation is the least standard part of OAuth. */
export interface RevokeRequest {
  method: 'POST' | 'DELETE';
  /** `basic`/`body`: client credentials as at the token endpoint; `bearer`: the token itself in `Authorization` (Slack). */
  auth: 'basic' | 'body' | 'bearer' | 'none';
  bodyFormat: TokenBodyFormat;
  /** Which stored token to send; revoking the refresh token ends the whole grant where the provider supports it. */
  token: 'access' | 'refresh';
  /** Body parameter that carries the token (`token` when absent); unused with `bearer`. */
  param?: string;
}

export interface OAuth2Auth {
  type: 'oauth2';
  authorizeUrl: string;
  tokenUrl: string;
  /** Omitted when the provider has no revocation endpoint. */
  revokeUrl?: string;
  /** How to call `revokeUrl`; absent when the call is not a token revocation and needs the connector's own code. */
  revoke?: RevokeRequest;
  scopes: {
    /** Requested when the caller asks for nothing more. */
    default: string[];
    /** Every scope a caller may add on top of the defaults. */
    available: string[];
    separator: ' ' | ',';
    /** Authorize-URL parameter that carries the scopes (Slack also has `user_scope`). */
    param?: string;
  };
  /** S256 PKCE is sent unless the provider rejects or ignores it. */
  pkce: boolean;
  clientAuth: ClientAuth;
  tokenBodyFormat: TokenBodyFormat;
  /** Fixed extra query parameters on the authorize URL (access_type=offline, audience …). */
  authorizeParams?: Record<string, string>;
  /** Whether the provider issues refresh tokens and whether they rotate on use. */
  refresh: 'none' | 'static' | 'rotating';
  /** Query parameters of the callback to keep as connection metadata (QuickBooks sends `realmId` only there). */
  callbackMetadata?: string[];
}

export interface ApiKeyField {
  name: string;
  label: string;
  secret: boolean;
  /** Allowed values, for fields such as the Datadog site. */
  enum?: readonly string[];
  optional?: boolean;
  /** The request header that carries the field; absent when the field is not sent as such (a site that picks the host). */
  header?: { name: string; prefix?: string };
}

export interface ApiKeyAuth {
  type: 'apiKey';
  fields: ApiKeyField[];
  /** An OAuth flow offered beside the key when the app credentials are configured (Stripe Connect). */
  oauth?: OAuth2Auth;
}

export type ConnectorAuth = OAuth2Auth | ApiKeyAuth;

export interface RateLimitHint {
  /** Requests allowed per window for one connection. */
  points: number;
  windowSeconds: number;
}

/**
 * Where a `{name}` in one of the connector's URLs gets its value: the connection's metadata first, then a
 * deployment-wide variable, then the default. `{clientId}` is always available and needs no declaration.
 */
export interface UrlPlaceholder {
  /** Connection metadata key (set at connect time: Jira cloudId, Datadog site). */
  metadata?: string;
  /** One of the connector's `extraEnv` variables. */
  env?: string;
  default?: string;
  /** Allowed values: anything else is refused, so credentials are never sent to a host a caller chose. */
  values?: readonly string[];
  /** A representative value, for documentation and the contract test. */
  example: string;
}

export interface ConnectorApi {
  /** Base URL of the provider's REST API; `{name}` placeholders are declared in `placeholders`. */
  baseUrl: string;
  rateLimit: RateLimitHint;
}

/**
 * The provider API for one connection, as a widget sees it: authenticated, rate limited per connection,
 * retried on transient failures, and refreshed once on a 401. Paths are relative to the API base URL
 * (absolute URLs are allowed only on the same origin).
 */
export interface ProviderApi {
  get<T = unknown>(path: string, options?: ApiRequestOptions): Promise<T>;
  post<T = unknown>(path: string, body: unknown, options?: ApiRequestOptions): Promise<T>;
  /** The whole answer, for pagination by headers (GitHub `Link`). */
  request(method: ApiMethod, path: string, options?: ApiRequestOptions & { body?: unknown }): Promise<{ status: number; headers: Headers; body: unknown }>;
}

export type ApiMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface ApiRequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
}

export interface WidgetContext<P> {
  params: P;
  api: ProviderApi;
  /** The connection's non-secret metadata (cloudId, realmId, tenantId, site …). */
  metadata: Record<string, string>;
  now: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each widget narrows P with its params schema
export interface WidgetDefinition<P = any> {
  title: string;
  description: string;
  kind: 'metric' | 'list' | 'timeseries' | 'table';
  /** How long a fetched value stays fresh in the cache. */
  ttlSeconds: number;
  /** Provider scopes the widget needs (checked against the connection's granted scopes). */
  scopes: string[];
  /** The widget's query parameters; parsed from the query string, so coerce numbers and booleans. */
  params: z.ZodType<P>;
  /** Fetches from the provider and answers the kind's shape (validated by the hub). Follows pagination to a stated bound. */
  fetch(ctx: WidgetContext<P>): Promise<unknown>;
}

export interface ConnectorDefinition {
  slug: string;
  name: string;
  category: Category;
  roles: Role[];
  /** Prefix of this provider's environment variables (`SLACK` → `SLACK_CLIENT_ID`, `SLACK_TOKEN_URL` …). */
  envPrefix: string;
  docsUrl: string;
  auth: ConnectorAuth;
  api: ConnectorApi;
  /** Provider-specific environment variables beyond the standard six (webhook secrets, tenants …). */
  extraEnv?: Record<string, string>;
  /** The `{placeholders}` used in this connector's URLs. */
  placeholders?: Record<string, UrlPlaceholder>;
  widgets: Record<string, WidgetDefinition>;
  /** Provider code for what data cannot say: token-response quirks, account lookup, revocation, key checks. */
  hooks?: ConnectorHooks;
  /** Inbound webhooks: verification, events, effects, and per-connection subscriptions where the provider needs them. */
  webhooks?: ConnectorWebhooks;
}

/** What a connection's sealed credentials hold: OAuth tokens or API-key fields. */
export type ApiCredentials = { type: 'oauth2'; tokens: TokenSet } | { type: 'apiKey'; fields: Record<string, string> };

/** Tokens as the hub keeps them: only ever inside the vault's ciphertext. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** ISO time the access token expires; absent when it does not expire. */
  expiresAt?: string;
  /** Scopes granted, when the provider says. */
  scopes?: string[];
  tokenType?: string;
  /** Other secrets that come with the tokens (Slack user token, Stripe publishable key …). */
  extra?: Record<string, unknown>;
}

/** What a token endpoint answered: tokens, or the provider's error (Slack and GitHub say errors with HTTP 200). */
export type TokenResponse =
  | { ok: true; tokens: TokenSet; raw: Record<string, unknown> }
  | { ok: false; status: number; error: string; description?: string };

/** The provider HTTP client handed to hooks: timeouts, JSON in and out; throws ProviderError on a non-2xx. */
export interface ProviderHttp {
  json<T = unknown>(
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: unknown; form?: Record<string, string> },
  ): Promise<T>;
}

/** The external account a connection stands for, found after the code exchange or the key check. */
export interface ConnectedAccount {
  /** Stable provider id: Slack team, Jira cloudId, QuickBooks realmId, Xero tenantId, Stripe account … */
  id: string;
  name?: string;
  /** Non-secret facts the API needs later (site URL, cloudId, Datadog site, tenant id …). */
  metadata?: Record<string, string>;
  /** Tenant keys that route webhooks to this connection (`team:T123`, `realm:4620…`). */
  routingKeys?: string[];
}

export interface AfterConnectContext {
  tokens: TokenSet;
  /** The token endpoint's whole answer (parsed), for fields such as Slack `team` or Notion `workspace_id`. */
  raw: Record<string, unknown>;
  /** The callback's query parameters other than code and state (QuickBooks `realmId`). */
  callbackQuery: Record<string, string>;
  http: ProviderHttp;
  endpoints: ResolvedEndpoints;
  providerEnv: ProviderEnv;
}

export interface RevokeContext {
  tokens: TokenSet;
  metadata: Record<string, string>;
  accountId: string | null;
  http: ProviderHttp;
  endpoints: ResolvedEndpoints;
  providerEnv: ProviderEnv;
}

export interface ApiKeyContext {
  credentials: Record<string, string>;
  http: ProviderHttp;
  /** Resolved with the credentials' non-secret fields as metadata (the Datadog site picks the host). */
  endpoints: ResolvedEndpoints;
  providerEnv: ProviderEnv;
}

export interface ConnectorHooks {
  /** Reads a token response the standard parser would misread; return undefined to use the standard one. */
  parseTokenResponse?(response: { status: number; body: Record<string, unknown> }): TokenResponse | undefined;
  /** Finds the account just connected (required for every OAuth connector). */
  afterConnect?(ctx: AfterConnectContext): Promise<ConnectedAccount>;
  /** Provider errors beyond `invalid_grant` that mean the grant is gone and only the user can fix it. */
  isDeadGrant?(error: { status: number; error: string; description?: string }): boolean;
  /** Revokes at the provider when `auth.revoke` cannot describe the call (Stripe deauthorize). */
  revoke?(ctx: RevokeContext): Promise<void>;
  /** Checks an API key with the provider and names its account; throws ProviderError when rejected. */
  verifyApiKey?(ctx: ApiKeyContext): Promise<ConnectedAccount>;
  /**
   * Headers that authenticate API calls for a connection (default: `Authorization: Bearer <access token>`),
   * plus fixed ones the API requires (Notion-Version, Xero-tenant-id, GitHub's API version …).
   */
  apiHeaders?(credentials: ApiCredentials, metadata: Record<string, string>): Record<string, string>;
  /**
   * The real outcome of an API answer when the HTTP status does not tell it (Slack answers `ok:false` with 200):
   * the status to act on (401 refreshes and retries, 5xx and 429 retry …) and the provider's error code.
   */
  apiError?(response: { status: number; body: unknown }): { status: number; code: string } | undefined;
}

/** Identity function that checks a connector definition against the type. */
export function defineConnector<const T extends ConnectorDefinition>(definition: T): T {
  return definition;
}

/** The OAuth flow a connector offers, if any: its own for oauth2, the optional one beside an API key (Stripe Connect). */
export function oauth2Of(connector: ConnectorDefinition): OAuth2Auth | undefined {
  return connector.auth.type === 'oauth2' ? connector.auth : connector.auth.oauth;
}
