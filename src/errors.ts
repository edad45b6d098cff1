// One error class with a stable code; the code → status table is the single source of HTTP statuses.
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  invalid_json: 400,
  invalid_credentials: 400,
  invalid_return_url: 400,
  invalid_scope: 400,
  unauthenticated: 401,
  invalid_token: 401,
  webhook_signature_invalid: 401,
  forbidden: 403,
  insufficient_scope: 403,
  not_found: 404,
  integration_not_found: 404,
  connection_not_found: 404,
  route_not_found: 404,
  widget_not_found: 404,
  sync_not_found: 404,
  webhook_event_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  integration_not_configured: 409,
  reauth_required: 409,
  connection_inactive: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  provider_rate_limited: 429,
  internal_error: 500,
  provider_error: 502,
  provider_unavailable: 502,
  not_ready: 503,
  webhook_not_configured: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly fields?: FieldError[];
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    detail: string,
    options: { cause?: unknown; fields?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
    this.fields = options.fields;
    this.headers = options.headers;
  }
}

/** Throws AppError(code, detail) unless the condition holds. */
export function assertThat(condition: unknown, code: ErrorCode, detail: string): asserts condition {
  if (!condition) throw new AppError(code, detail);
}

/**
 * A provider answered with an error or could not be reached. Carries the status and the provider's error
 * code, never the request or the response body (they may hold tokens).
 */
export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly status: number,
    readonly providerCode: string | undefined,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProviderError';
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
  readonly retryAfterSeconds?: number;

  /** Network failure, timeout, 5xx or 429: worth trying again later. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}
