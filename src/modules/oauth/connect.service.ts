// Starting a connection: the OAuth authorization (state, PKCE, scopes, return URL) or an API-key check.
import { calculatePKCECodeChallenge, generateRandomCodeVerifier, generateRandomState } from 'oauth4webapi';
import type { Config } from '../../config.js';
import { isOAuthAvailable, resolveEndpoints } from '../../connectors/endpoints.js';
import { getConnector } from '../../connectors/index.js';
import { oauth2Of, type ConnectorDefinition, type OAuth2Auth } from '../../connectors/types.js';
import { AppError, ProviderError } from '../../errors.js';
import { createProviderHttp } from '../../lib/provider-http.js';
import type { ConnectionStore } from '../connections/connection-store.service.js';
import { toConnectionView } from '../connections/connection.service.js';
import type { ConnectionView } from '../connections/connection.schemas.js';
import type { OAuthStateStore } from './oauth-state.js';

export interface ConnectRequest {
  workspaceId: string;
  slug: string;
  actor: string;
  returnUrl?: string;
  scopes?: string[];
  credentials?: Record<string, string>;
}

export type ConnectResult =
  | { kind: 'oauth2'; authorizationUrl: string; state: string; expiresAt: string }
  | { kind: 'apiKey'; integration: ConnectionView };

export function redirectUriFor(publicUrl: string, slug: string): string {
  return `${publicUrl}/oauth/callback/${slug}`;
}

export function createConnectService(deps: {
  config: Pick<Config, 'providers' | 'publicUrl' | 'allowedReturnOrigins' | 'webhookSubscriptions'>;
  states: OAuthStateStore;
  store: ConnectionStore;
}) {
  const { config } = deps;

  function connectorOf(slug: string): ConnectorDefinition {
    const connector = getConnector(slug);
    if (!connector) throw new AppError('integration_not_found', `No integration '${slug}'.`);
    return connector;
  }

  function checkReturnUrl(returnUrl: string | undefined): string | undefined {
    if (returnUrl === undefined) return undefined;
    let origin: string;
    try {
      const url = new URL(returnUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
      origin = url.origin;
    } catch {
      throw new AppError('invalid_return_url', 'returnUrl must be an absolute http(s) URL.', { fields: [{ path: 'body.returnUrl', message: 'not an absolute http(s) URL' }] });
    }
    if (!config.allowedReturnOrigins.includes(origin)) {
      throw new AppError('invalid_return_url', `returnUrl's origin ${origin} is not in HUB_ALLOWED_RETURN_ORIGINS.`, {
        fields: [{ path: 'body.returnUrl', message: 'origin not allowed' }],
      });
    }
    return returnUrl;
  }

  function checkScopes(connector: ConnectorDefinition, oauth: OAuth2Auth, requested: string[] = []): string[] {
    const unknown = requested.filter((s) => !oauth.scopes.available.includes(s));
    if (unknown.length) {
      throw new AppError('invalid_scope', `Not scopes of this integration: ${unknown.join(', ')}.`, {
        fields: [{ path: 'body.scopes', message: `unknown: ${unknown.join(', ')}` }],
      });
    }
    // The hub creates this connector's webhook subscriptions itself: ask for what that takes, nothing when it does not.
    const forWebhooks = config.webhookSubscriptions ? (connector.webhooks?.subscriptions?.scopes ?? []) : [];
    return [...new Set([...oauth.scopes.default, ...requested, ...forWebhooks])];
  }

  async function startOAuth(connector: ConnectorDefinition, request: ConnectRequest): Promise<ConnectResult> {
    const oauth = oauth2Of(connector);
    if (!oauth) throw new AppError('bad_request', `${connector.name} connects with an API key: send { "credentials": { … } }.`);
    const providerEnv = config.providers[connector.slug]!;
    if (!isOAuthAvailable(connector, providerEnv)) {
      throw new AppError('integration_not_configured', `${connector.name} is not configured on this hub (${connector.envPrefix}_CLIENT_ID / _CLIENT_SECRET).`);
    }
    const returnUrl = checkReturnUrl(request.returnUrl);
    const scopes = checkScopes(connector, oauth, request.scopes);
    const state = generateRandomState();
    const codeVerifier = oauth.pkce ? generateRandomCodeVerifier() : undefined;

    const url = new URL(resolveEndpoints(connector, providerEnv).authorizeUrl!);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', providerEnv.clientId!);
    url.searchParams.set('redirect_uri', redirectUriFor(config.publicUrl, connector.slug));
    if (scopes.length) url.searchParams.set(oauth.scopes.param ?? 'scope', scopes.join(oauth.scopes.separator));
    url.searchParams.set('state', state);
    if (codeVerifier) {
      url.searchParams.set('code_challenge', await calculatePKCECodeChallenge(codeVerifier));
      url.searchParams.set('code_challenge_method', 'S256');
    }
    for (const [k, v] of Object.entries(oauth.authorizeParams ?? {})) url.searchParams.set(k, v);

    const expiresAt = await deps.states.create(state, {
      workspaceId: request.workspaceId,
      slug: connector.slug,
      scopes,
      codeVerifier,
      returnUrl,
      actor: request.actor,
      providerUrl: url.toString(),
    });
    return {
      kind: 'oauth2',
      authorizationUrl: `${config.publicUrl}/oauth/authorize/${state}`,
      state,
      expiresAt: expiresAt.toISOString(),
    };
  }

  function checkCredentials(connector: ConnectorDefinition, credentials: Record<string, string>) {
    if (connector.auth.type !== 'apiKey') {
      throw new AppError('bad_request', `${connector.name} connects through OAuth: send no credentials.`);
    }
    const fields = connector.auth.fields;
    const problems: { path: string; message: string }[] = [];
    for (const name of Object.keys(credentials)) {
      if (!fields.some((f) => f.name === name)) problems.push({ path: `body.credentials.${name}`, message: 'unknown field' });
    }
    for (const field of fields) {
      const value = credentials[field.name];
      if (value === undefined || value === '') {
        if (!field.optional) problems.push({ path: `body.credentials.${field.name}`, message: 'required' });
      } else if (field.enum && !field.enum.includes(value)) {
        problems.push({ path: `body.credentials.${field.name}`, message: `one of ${field.enum.join(', ')}` });
      }
    }
    if (problems.length) throw new AppError('validation_failed', 'The credentials do not match the integration.', { fields: problems });
    return fields;
  }

  async function connectApiKey(connector: ConnectorDefinition, request: ConnectRequest): Promise<ConnectResult> {
    const credentials = request.credentials!;
    const fields = checkCredentials(connector, credentials);
    const metadata = Object.fromEntries(fields.filter((f) => !f.secret && credentials[f.name]).map((f) => [f.name, credentials[f.name]!]));
    const verify = connector.hooks?.verifyApiKey;
    if (!verify) throw new AppError('internal_error', `${connector.slug} has no key check`);
    const providerEnv = config.providers[connector.slug]!;
    let account;
    try {
      account = await verify({ credentials, http: createProviderHttp(connector.slug), endpoints: resolveEndpoints(connector, providerEnv, metadata), providerEnv });
    } catch (error) {
      if (error instanceof ProviderError && !error.transient) {
        throw new AppError('invalid_credentials', `${connector.name} rejected the credentials.`);
      }
      if (error instanceof ProviderError) throw new AppError('provider_unavailable', `${connector.name} could not check the credentials now; try again.`, { cause: error });
      throw error;
    }
    const row = await deps.store.saveConnected({
      workspaceId: request.workspaceId,
      slug: connector.slug,
      actor: request.actor,
      account,
      credentials: { type: 'apiKey', fields: credentials },
      scopes: [],
      metadata: { ...metadata, ...account.metadata },
    });
    return { kind: 'apiKey', integration: toConnectionView(row) };
  }

  return {
    async connect(request: ConnectRequest): Promise<ConnectResult> {
      const connector = connectorOf(request.slug);
      return request.credentials ? connectApiKey(connector, request) : startOAuth(connector, request);
    },
  };
}

export type ConnectService = ReturnType<typeof createConnectService>;
