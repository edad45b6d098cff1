// Token-endpoint calls (code exchange, refresh) with each provider's declared client auth and body format,
// and the reading of their answers: RFC 6749 JSON by default, provider quirks through the connector's hook.
import type { ProviderEnv } from '../../config.js';
import type { ConnectorDefinition, OAuth2Auth, TokenResponse, TokenSet } from '../../connectors/types.js';
import { providerRequest } from '../../lib/provider-http.js';

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** Seconds until expiry, as providers send it: a number or a numeric string. */
function expiresAtFrom(expiresIn: unknown, now = Date.now()): string | undefined {
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  return new Date(now + seconds * 1000).toISOString();
}

export function splitScopes(scope: unknown): string[] | undefined {
  const s = str(scope);
  return s ? s.split(/[\s,]+/).filter(Boolean) : undefined;
}

/** The standard reading: an `error` member means failure whatever the status (GitHub answers errors with 200). */
export function parseStandardTokenResponse(response: { status: number; body: Record<string, unknown> }): TokenResponse {
  const { status, body } = response;
  const error = str(body.error);
  if (error || status < 200 || status >= 300) {
    return { ok: false, status, error: error ?? `http_${status}`, description: str(body.error_description) };
  }
  const accessToken = str(body.access_token);
  if (!accessToken) return { ok: false, status, error: 'invalid_token_response', description: 'no access_token in the answer' };
  const tokens: TokenSet = {
    accessToken,
    refreshToken: str(body.refresh_token),
    expiresAt: expiresAtFrom(body.expires_in),
    scopes: splitScopes(body.scope),
    tokenType: str(body.token_type),
  };
  return { ok: true, tokens, raw: body };
}

export interface TokenRequestContext {
  connector: ConnectorDefinition;
  oauth: OAuth2Auth;
  tokenUrl: string;
  providerEnv: ProviderEnv;
}

async function tokenRequest(ctx: TokenRequestContext, params: Record<string, string>): Promise<TokenResponse> {
  const { oauth, providerEnv } = ctx;
  const clientId = providerEnv.clientId ?? '';
  const clientSecret = providerEnv.clientSecret ?? '';
  const headers: Record<string, string> = {};
  const body: Record<string, string> = { ...params };
  if (oauth.clientAuth === 'basic') {
    // RFC 6749 §2.3.1: form-encode each part before joining.
    const encode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
  } else {
    body.client_id = clientId;
    body.client_secret = clientSecret;
  }
  const response = await providerRequest(ctx.connector.slug, ctx.tokenUrl, {
    method: 'POST',
    headers,
    ...(oauth.tokenBodyFormat === 'json' ? { body } : { form: body }),
  });
  const parsed = ctx.connector.hooks?.parseTokenResponse?.(response) ?? parseStandardTokenResponse(response);
  if (!parsed.ok && response.status === 429) {
    const retryAfter = response.headers.get('retry-after');
    return { ...parsed, description: parsed.description ?? (retryAfter ? `retry after ${retryAfter}` : undefined) };
  }
  return parsed;
}

export function exchangeCode(ctx: TokenRequestContext, input: { code: string; redirectUri: string; codeVerifier?: string }) {
  return tokenRequest(ctx, {
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: input.redirectUri,
    ...(input.codeVerifier ? { code_verifier: input.codeVerifier } : {}),
  });
}

export function refreshGrant(ctx: TokenRequestContext, refreshToken: string) {
  return tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

/** A failed refresh that only the user can fix: the grant is gone (revoked, expired, reused). */
export function isDeadGrant(connector: ConnectorDefinition, failure: { status: number; error: string; description?: string }): boolean {
  if (connector.hooks?.isDeadGrant?.(failure)) return true;
  if (failure.error === 'invalid_grant' && [400, 401, 403].includes(failure.status)) return true;
  // Some providers answer a dead refresh with 200 + an error member (GitHub, Slack): not transient either.
  return failure.status >= 200 && failure.status < 300 && failure.error === 'invalid_grant';
}

/** Network failures, 5xx and 429 are worth retrying; everything else is not. */
export function isTransient(failure: { status: number }): boolean {
  return failure.status === 0 || failure.status === 429 || failure.status >= 500;
}

/** Merges a refresh answer into the stored tokens: a missing refresh token keeps the old one. */
export function mergeRefreshed(previous: TokenSet, next: TokenSet): TokenSet {
  return {
    ...previous,
    ...next,
    refreshToken: next.refreshToken ?? previous.refreshToken,
    scopes: next.scopes ?? previous.scopes,
    extra: { ...previous.extra, ...next.extra },
  };
}
