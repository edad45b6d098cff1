// Calling Slack's Web API from widgets: every answer is an `ok` envelope, and Slack says most failures with
// HTTP 200 `ok:false`, so the envelope is read here and its error names turned into provider statuses.
import { z } from 'zod';
import { ProviderError } from '../../errors.js';
import type { ProviderApi } from '../types.js';

/** Web API error names that mean the token is no good: the connection needs the user again. */
const AUTH_ERRORS = new Set(['not_authed', 'invalid_auth', 'token_revoked', 'token_expired', 'account_inactive', 'no_permission_for_token']);
/** The token lacks a scope the method needs (`missing_scope`, with `needed` and `provided`). */
const SCOPE_ERRORS = new Set(['missing_scope', 'not_allowed_token_type', 'no_permission', 'access_denied']);
/** Slack's side failed; worth trying later. */
const TRANSIENT_ERRORS = new Set(['fatal_error', 'internal_error', 'service_unavailable', 'request_timeout']);

const envelope = z.object({ ok: z.boolean(), error: z.string().optional() });

/** The provider status a Web API error name stands for, so the hub maps it like any HTTP failure. */
export function statusOfSlackError(error: string): number {
  if (AUTH_ERRORS.has(error)) return 401;
  if (SCOPE_ERRORS.has(error)) return 403;
  if (error === 'ratelimited') return 429;
  if (TRANSIENT_ERRORS.has(error)) return 503;
  return 502;
}

/**
 * GET one Web API method and parse its `ok:true` answer with `schema`. An `ok:false` answer throws a
 * ProviderError carrying Slack's error name; HTTP failures (429 ratelimited, 5xx) are the client's already.
 */
export async function slackGet<T>(api: ProviderApi, method: string, query: Record<string, string | number | boolean | undefined>, schema: z.ZodType<T>): Promise<T> {
  const body = await api.get(`/${method}`, { query });
  const head = envelope.parse(body);
  if (!head.ok) {
    const error = head.error ?? 'slack_error';
    throw new ProviderError('slack', statusOfSlackError(error), error, `slack ${method} answered ok:false (${error})`);
  }
  return schema.parse(body);
}

/** Slack's cursor paging: an empty `next_cursor` (or none) means the last page. */
export const responseMetadata = z.object({ next_cursor: z.string().optional() }).optional();
