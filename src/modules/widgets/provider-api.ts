// The one shared provider client for widget calls: credentials refreshed on demand, the connector's auth headers,
// an outbound rate limit per connection, retries with backoff and jitter that honour Retry-After and the
// providers' quota headers, a circuit breaker per provider, and one forced refresh on a 401.
import { BrokenCircuitError, ConsecutiveBreaker, DelegateBackoff, circuitBreaker, handleWhen, retry, type CircuitBreakerPolicy } from 'cockatiel';
import type { Config } from '../../config.js';
import { resolveEndpoints } from '../../connectors/endpoints.js';
import type { ApiCredentials, ApiMethod, ApiRequestOptions, ConnectorDefinition, ProviderApi } from '../../connectors/types.js';
import { AppError, ProviderError } from '../../errors.js';
import { providerErrorOf, providerRequest, retryAfterSeconds } from '../../lib/provider-http.js';
import type { RefreshService } from '../refresh/refresh.service.js';
import type { OutboundLimiter } from './outbound-limiter.js';

/** Longest we wait inside one request: for a rate-limit slot, or a provider's Retry-After before retrying. */
export const MAX_WAIT_MS = 3_000;
const MAX_ATTEMPTS = 3;

const retriable = (error: unknown) =>
  error instanceof ProviderError && error.transient && (error.retryAfterSeconds ?? 0) * 1000 <= MAX_WAIT_MS;

/** Exponential backoff with full jitter, or the provider's own wait when it names one. */
const backoff = new DelegateBackoff<{ attempt: number; result: { error?: unknown } | { value: unknown } }>((context) => {
  const error = 'error' in context.result ? context.result.error : undefined;
  if (error instanceof ProviderError && error.retryAfterSeconds !== undefined) return error.retryAfterSeconds * 1000;
  return Math.random() * Math.min(2_000, 200 * 2 ** context.attempt);
});

export interface ProviderApiDeps {
  config: Pick<Config, 'providers'>;
  refresh: Pick<RefreshService, 'credentialsForUse' | 'refresh'>;
  outbound: OutboundLimiter;
  /** Told when the provider keeps refusing an API key (401 after the retry, or 403): the key may be revoked. */
  onKeyRefused?: (connectionId: string, credentialsVersion: number) => Promise<unknown>;
}

export interface ApiConnection {
  id: string;
  metadata: Record<string, string>;
}

export function defaultApiHeaders(credentials: ApiCredentials): Record<string, string> {
  return credentials.type === 'oauth2' ? { authorization: `Bearer ${credentials.tokens.accessToken}` } : {};
}

export function createProviderApiFactory(deps: ProviderApiDeps) {
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const breakerFor = (slug: string) => {
    let breaker = breakers.get(slug);
    if (!breaker) {
      // 429s say "slow down", not "down": they do not open the circuit.
      const failures = handleWhen((e) => e instanceof ProviderError && e.transient && e.status !== 429);
      breaker = circuitBreaker(failures, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) });
      breakers.set(slug, breaker);
    }
    return breaker;
  };
  const retryPolicy = retry(handleWhen(retriable), { maxAttempts: MAX_ATTEMPTS - 1, backoff });

  function forConnection(connector: ConnectorDefinition, connection: ApiConnection): ProviderApi {
    const providerEnv = deps.config.providers[connector.slug]!;
    const base = resolveEndpoints(connector, providerEnv, connection.metadata).apiBaseUrl.replace(/\/$/, '');
    const baseOrigin = new URL(base).origin;

    function urlOf(path: string, query?: ApiRequestOptions['query']): string {
      const url = /^https?:\/\//.test(path) ? new URL(path) : new URL(base + (path.startsWith('/') ? path : `/${path}`));
      // Credentials only ever go to the provider's own API origin (pagination links included).
      if (url.origin !== baseOrigin) throw new ProviderError(connector.slug, 0, 'foreign_origin', 'refused a URL outside the provider API');
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      return url.toString();
    }

    /** The headers that authenticate a call, and the version of the credentials they carry. */
    async function headersFor(): Promise<{ headers: Record<string, string>; version: number; apiKey: boolean }> {
      const found = await deps.refresh.credentialsForUse(connection.id);
      if (!found) throw new AppError('reauth_required', `The ${connector.name} connection needs to be reconnected.`);
      const { credentials, version } = found;
      const headers = connector.hooks?.apiHeaders?.(credentials, connection.metadata) ?? defaultApiHeaders(credentials);
      return { headers, version, apiKey: credentials.type === 'apiKey' };
    }

    async function attempt(method: ApiMethod, url: string, options: ApiRequestOptions & { body?: unknown }, refreshed: boolean): Promise<{ status: number; headers: Headers; body: unknown }> {
      const wait = await deps.outbound.take(connector.slug, connection.id, connector.api.rateLimit, MAX_WAIT_MS);
      if (wait > 0) {
        throw new ProviderError(connector.slug, 429, 'hub_rate_limited', 'outbound limit reached', { retryAfterSeconds: Math.ceil(wait / 1000) });
      }
      const auth = await headersFor();
      const response = await providerRequest(connector.slug, url, {
        method,
        headers: { ...auth.headers, ...options.headers },
        ...(options.body !== undefined ? { body: options.body } : {}),
      });
      const signalled = connector.hooks?.apiError?.(response);
      const status = signalled?.status ?? response.status;
      if (status === 401 && !refreshed) {
        // The token may have been revoked or rotated elsewhere: refresh once (unless another call already replaced
        // the refused credentials) and try again.
        await deps.refresh.refresh(connection.id, { force: true, rejectedVersion: auth.version });
        return attempt(method, url, options, true);
      }
      if (auth.apiKey && (status === 401 || status === 403)) await deps.onKeyRefused?.(connection.id, auth.version);
      if (signalled) {
        throw new ProviderError(connector.slug, status, signalled.code, `${connector.slug} answered ${signalled.code}`, {
          retryAfterSeconds: retryAfterSeconds(response.headers),
        });
      }
      if (status < 200 || status >= 300) throw providerErrorOf(connector.slug, response);
      return response;
    }

    async function request(method: ApiMethod, path: string, options: ApiRequestOptions & { body?: unknown } = {}) {
      const url = urlOf(path, options.query);
      try {
        return await breakerFor(connector.slug).execute(() => retryPolicy.execute(() => attempt(method, url, options, false)));
      } catch (error) {
        if (error instanceof BrokenCircuitError) {
          throw new ProviderError(connector.slug, 503, 'circuit_open', `${connector.name} is failing; calls paused`, { retryAfterSeconds: 30 });
        }
        throw error;
      }
    }

    return {
      request,
      async get<T>(path: string, options?: ApiRequestOptions) {
        return (await request('GET', path, options)).body as T;
      },
      async post<T>(path: string, body: unknown, options?: ApiRequestOptions) {
        return (await request('POST', path, { ...options, body })).body as T;
      },
    };
  }

  return { forConnection };
}

export type ProviderApiFactory = ReturnType<typeof createProviderApiFactory>;

/** Maps a provider failure to the problem the widget endpoint answers. */
export function toAppError(error: unknown, providerName: string): AppError {
  if (error instanceof AppError) return error;
  if (!(error instanceof ProviderError)) throw error;
  if (error.status === 429) {
    const seconds = String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 60)));
    return new AppError('provider_rate_limited', `${providerName} is rate limiting this connection; retry in ${seconds} s.`, { headers: { 'Retry-After': seconds } });
  }
  if (error.status === 401) return new AppError('reauth_required', `${providerName} no longer accepts this connection's credentials; reconnect it.`);
  if (error.status === 403) return new AppError('insufficient_scope', `${providerName} refused: the connection lacks a permission this widget needs.`);
  // The thing the parameters name is not there (a repository, project or board) or the request was refused as malformed.
  if (error.status === 404) return new AppError('not_found', `${providerName} has no such resource; check the widget's parameters.`);
  if (error.status === 400 || error.status === 422) return new AppError('bad_request', `${providerName} refused the request; check the widget's parameters.`);
  return new AppError('provider_unavailable', `${providerName} did not answer properly (${error.status || error.providerCode}); try again later.`);
}
