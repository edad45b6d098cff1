// Revocation at the provider as the connector declares it (RFC 7009 and its variants), or its own hook.
import type { ProviderEnv } from '../../config.js';
import { resolveEndpoints } from '../../connectors/endpoints.js';
import { oauth2Of, type ConnectorDefinition, type TokenSet } from '../../connectors/types.js';
import { createProviderHttp, providerErrorOf, providerRequest } from '../../lib/provider-http.js';

export interface RevokeInput {
  connector: ConnectorDefinition;
  providerEnv: ProviderEnv;
  tokens: TokenSet;
  metadata: Record<string, string>;
  accountId: string | null;
}

/** Returns false when the provider has no way to revoke; throws ProviderError when the call fails. */
export async function revokeAtProvider(input: RevokeInput): Promise<boolean> {
  const { connector, providerEnv, tokens } = input;
  const endpoints = resolveEndpoints(connector, providerEnv, input.metadata);
  if (connector.hooks?.revoke) {
    await connector.hooks.revoke({ tokens, metadata: input.metadata, accountId: input.accountId, http: createProviderHttp(connector.slug), endpoints, providerEnv });
    return true;
  }
  const oauth = oauth2Of(connector);
  const spec = oauth?.revoke;
  if (!oauth || !spec || !endpoints.revokeUrl) return false;
  const token = spec.token === 'refresh' ? (tokens.refreshToken ?? tokens.accessToken) : tokens.accessToken;
  const headers: Record<string, string> = {};
  const body: Record<string, string> = {};
  if (spec.auth === 'bearer') headers.authorization = `Bearer ${token}`;
  else body[spec.param ?? 'token'] = token;
  if (spec.auth === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${providerEnv.clientId ?? ''}:${providerEnv.clientSecret ?? ''}`).toString('base64')}`;
  } else if (spec.auth === 'body') {
    body.client_id = providerEnv.clientId ?? '';
    body.client_secret = providerEnv.clientSecret ?? '';
  }
  const hasBody = Object.keys(body).length > 0;
  const response = await providerRequest(connector.slug, endpoints.revokeUrl, {
    method: spec.method,
    headers,
    ...(hasBody ? (spec.bodyFormat === 'json' ? { body } : { form: body }) : {}),
  });
  // Slack answers failures with HTTP 200 and ok:false.
  if (response.status < 200 || response.status >= 300 || response.body.ok === false) throw providerErrorOf(connector.slug, response);
  return true;
}
