// Where a connector's URLs point in this deployment: `<PREFIX>_*_URL` overrides, else the defaults, placeholders filled.
import type { ProviderEnv } from '../config.js';
import { AppError } from '../errors.js';
import { oauth2Of, type ConnectorDefinition } from './types.js';

export interface ResolvedEndpoints {
  /** Absent for connectors without an OAuth flow. */
  authorizeUrl?: string;
  tokenUrl?: string;
  /** Absent when the provider has no revocation endpoint. */
  revokeUrl?: string;
  apiBaseUrl: string;
}

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/**
 * Resolves every URL of a connector. Pass the connection's metadata to get callable URLs; without it
 * (no connection yet, e.g. starting the OAuth flow) placeholders only a connection can fill stay as they are.
 * Throws when a placeholder has no value although metadata was given, or a value is not an allowed one.
 */
export function resolveEndpoints(
  connector: ConnectorDefinition,
  providerEnv: ProviderEnv,
  metadata?: Record<string, string>,
): ResolvedEndpoints {
  const fill = (template: string) => fillPlaceholders(connector, template, providerEnv, metadata);
  const oauth = oauth2Of(connector);
  const endpoints: ResolvedEndpoints = { apiBaseUrl: fill(providerEnv.apiUrl ?? connector.api.baseUrl) };
  if (oauth) {
    endpoints.authorizeUrl = fill(providerEnv.authorizeUrl ?? oauth.authorizeUrl);
    endpoints.tokenUrl = fill(providerEnv.tokenUrl ?? oauth.tokenUrl);
    const revokeUrl = providerEnv.revokeUrl ?? oauth.revokeUrl;
    if (revokeUrl) endpoints.revokeUrl = fill(revokeUrl);
  }
  return endpoints;
}

/** Whether users can connect at all: oauth2 needs the app's client id and secret; an API key comes from the user. */
export function isConfigured(connector: ConnectorDefinition, providerEnv: ProviderEnv): boolean {
  return connector.auth.type === 'apiKey' || hasClientCredentials(providerEnv);
}

/** Whether connecting can run an OAuth flow: always the case for a configured oauth2 connector, and for
 * an API-key connector that also offers OAuth (Stripe Connect) once its client credentials are set. */
export function isOAuthAvailable(connector: ConnectorDefinition, providerEnv: ProviderEnv): boolean {
  return oauth2Of(connector) !== undefined && hasClientCredentials(providerEnv);
}

function hasClientCredentials(providerEnv: ProviderEnv): boolean {
  return Boolean(providerEnv.clientId && providerEnv.clientSecret);
}

function fillPlaceholders(
  connector: ConnectorDefinition,
  template: string,
  providerEnv: ProviderEnv,
  metadata: Record<string, string> | undefined,
): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'clientId') {
      if (!providerEnv.clientId) return whole;
      return encodeURIComponent(providerEnv.clientId);
    }
    const declared = connector.placeholders?.[name];
    if (!declared) throw new AppError('internal_error', `${connector.slug}: URL placeholder {${name}} is not declared`);
    const value =
      (declared.metadata ? metadata?.[declared.metadata] : undefined) ??
      (declared.env ? providerEnv.extra[declared.env] : undefined) ??
      declared.default;
    if (value === undefined || value === '') {
      // Without a connection there is nothing to fill it from yet; with one, the connection is incomplete.
      if (metadata === undefined && declared.metadata) return whole;
      throw new AppError('internal_error', `${connector.slug}: no value for URL placeholder {${name}}`);
    }
    if (declared.values && !declared.values.includes(value)) {
      throw new AppError('bad_request', `${connector.slug}: '${value}' is not an allowed ${name}`);
    }
    // Encoded so a value can only ever be one path segment or host label, never a new host or path.
    return encodeURIComponent(value);
  });
}
