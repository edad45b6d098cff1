// The shape of a connector: a provider described as data, with its quirks as named fields.
import type { z } from 'zod';

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

export interface WidgetDefinition {
  title: string;
  description: string;
  kind: 'metric' | 'list' | 'timeseries' | 'table';
  ttlSeconds: number;
  scopes: string[];
  params: z.ZodType;
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
}

/** Identity function that checks a connector definition against the type. */
export function defineConnector<const T extends ConnectorDefinition>(definition: T): T {
  return definition;
}

/** The OAuth flow a connector offers, if any: its own for oauth2, the optional one beside an API key (Stripe Connect). */
export function oauth2Of(connector: ConnectorDefinition): OAuth2Auth | undefined {
  return connector.auth.type === 'oauth2' ? connector.auth : connector.auth.oauth;
}
