// The outbound HTTP client for provider calls: timeouts, JSON or form bodies, errors as ProviderError.
// (Retries, rate limiting and circuit breaking wrap this client in the widget issue.)
import { ProviderError } from '../errors.js';
import type { ProviderHttp } from '../connectors/types.js';

export const PROVIDER_TIMEOUT_MS = 10_000;

export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or form-encoded pairs (GitHub's default token answer), or `{ text }`. */
  body: Record<string, unknown>;
}

function parseBody(contentType: string, text: string): Record<string, unknown> {
  if (!text) return {};
  if (contentType.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    // Some providers answer errors as form pairs or text whatever they declare.
    if (/^[\w.-]+=/.test(text) && !text.includes('\n')) return Object.fromEntries(new URLSearchParams(text));
    return { text: text.slice(0, 500) };
  }
}

/** One request; never throws on HTTP status, only on network failure or timeout (ProviderError status 0). */
export async function providerRequest(
  provider: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; form?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'integration-hub/0.1', ...init.headers };
  let body: string | undefined;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(init.timeoutMs ?? PROVIDER_TIMEOUT_MS),
    });
  } catch (error) {
    const timeout = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new ProviderError(provider, 0, timeout ? 'timeout' : 'network_error', `${provider} could not be reached`, { cause: error });
  }
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: parseBody(response.headers.get('content-type') ?? '', text) };
}

/**
 * How long the provider asks us to wait: `Retry-After` (seconds or a date), else an exhausted quota's reset
 * (`x-ratelimit-remaining: 0` + `x-ratelimit-reset` epoch seconds — GitHub; `RateLimit-Reset` — GitLab, IETF
 * draft), else Xero's per-minute quota (`X-MinLimit-Remaining: 0` → the next minute).
 */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value) {
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - now) / 1000));
  }
  const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining');
  const reset = headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset');
  if (remaining === '0' && reset && Number.isFinite(Number(reset))) {
    const n = Number(reset);
    // Epoch seconds when large, a delta in seconds otherwise.
    return n > 1_000_000_000 ? Math.max(0, Math.ceil(n - now / 1000)) : Math.max(0, n);
  }
  if (headers.get('x-minlimit-remaining') === '0') return 60;
  return undefined;
}

/** The ProviderError for a non-2xx answer: status and the provider's error code only. */
export function providerErrorOf(provider: string, response: RawResponse): ProviderError {
  const b = response.body;
  const code =
    typeof b.error === 'string' ? b.error
    : typeof b.code === 'string' ? b.code
    : typeof (b.error as { code?: unknown })?.code === 'string' ? String((b.error as { code: string }).code)
    : undefined;
  const wait = retryAfterSeconds(response.headers);
  // An exhausted quota answered as 403 (GitHub's primary limit) is a rate limit, not a missing permission.
  const quotaExhausted = response.status === 403 && wait !== undefined;
  const status = quotaExhausted ? 429 : response.status;
  return new ProviderError(provider, status, code, `${provider} answered HTTP ${response.status}${code ? ` (${code})` : ''}`, {
    retryAfterSeconds: wait,
  });
}

/** The client hooks receive: a non-2xx answer throws ProviderError. */
export function createProviderHttp(provider: string): ProviderHttp {
  return {
    async json<T>(url: string, init?: { method?: string; headers?: Record<string, string>; body?: unknown; form?: Record<string, string> }) {
      const response = await providerRequest(provider, url, init);
      if (response.status < 200 || response.status >= 300) throw providerErrorOf(provider, response);
      return response.body as T;
    },
  };
}
