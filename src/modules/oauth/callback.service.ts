// The OAuth callback: consume the state, check the browser, exchange the code, find the account, save.
// Every failure is a result with a stable code, never a thrown error: the browser always gets an answer.
import type { Config } from '../../config.js';
import { resolveEndpoints } from '../../connectors/endpoints.js';
import { getConnector } from '../../connectors/index.js';
import { oauth2Of } from '../../connectors/types.js';
import { ProviderError } from '../../errors.js';
import type { Logger } from '../../lib/logger.js';
import { createProviderHttp } from '../../lib/provider-http.js';
import type { ConnectionStore } from '../connections/connection-store.service.js';
import { redirectUriFor } from './connect.service.js';
import type { OAuthStateStore } from './oauth-state.js';
import { exchangeCode } from './token-client.js';

export type CallbackResult =
  | { status: 'connected'; slug: string; integrationId: string; returnUrl?: string }
  | { status: 'error'; slug: string; code: string; returnUrl?: string };

export interface CallbackInput {
  slug: string;
  query: Record<string, string | undefined>;
  /** The nonce from the browser's binding cookie for this state. */
  cookieNonce: (state: string) => string | undefined;
}

/** Provider error codes are echoed to the return URL only when they are plain words (no injection). */
const safeCode = (code: string) => (/^[a-z0-9_.-]{1,64}$/i.test(code) ? code : 'provider_error');

export function createCallbackService(deps: {
  config: Pick<Config, 'providers' | 'publicUrl'>;
  states: OAuthStateStore;
  store: ConnectionStore;
  logger: Logger;
}) {
  return {
    async handle(input: CallbackInput): Promise<CallbackResult> {
      const { slug, query } = input;
      const fail = (code: string, returnUrl?: string): CallbackResult => {
        deps.logger.info({ slug, code }, 'oauth callback failed');
        return { status: 'error', slug, code, returnUrl };
      };
      const state = query.state;
      if (!state) return fail('invalid_state');
      const pending = await deps.states.consume(state);
      if (!pending || pending.slug !== slug) return fail('invalid_state');
      const bound = await deps.states.takeBinding(state, input.cookieNonce(state));
      if (!bound) return fail('state_browser_mismatch', pending.returnUrl);
      if (query.error) return fail(safeCode(query.error), pending.returnUrl);
      if (!query.code) return fail('invalid_request', pending.returnUrl);

      const connector = getConnector(slug);
      const oauth = connector && oauth2Of(connector);
      if (!connector || !oauth) return fail('invalid_state', pending.returnUrl);
      const providerEnv = deps.config.providers[slug]!;
      const endpoints = resolveEndpoints(connector, providerEnv);
      let exchanged;
      try {
        exchanged = await exchangeCode(
          { connector, oauth, tokenUrl: endpoints.tokenUrl!, providerEnv },
          { code: query.code, redirectUri: redirectUriFor(deps.config.publicUrl, slug), codeVerifier: pending.codeVerifier },
        );
      } catch (error) {
        deps.logger.warn({ slug, err: error instanceof ProviderError ? { code: error.providerCode, status: error.status } : undefined }, 'token endpoint unreachable');
        return fail('provider_unavailable', pending.returnUrl);
      }
      if (!exchanged.ok) {
        deps.logger.warn({ slug, providerError: exchanged.error, status: exchanged.status }, 'code exchange refused');
        return fail('token_exchange_failed', pending.returnUrl);
      }

      const callbackQuery = Object.fromEntries(
        Object.entries(query).filter((e): e is [string, string] => e[0] !== 'code' && e[0] !== 'state' && typeof e[1] === 'string'),
      );
      let account;
      try {
        if (!connector.hooks?.afterConnect) throw new Error(`${slug} has no afterConnect hook`);
        account = await connector.hooks.afterConnect({
          tokens: exchanged.tokens,
          raw: exchanged.raw,
          callbackQuery,
          http: createProviderHttp(slug),
          endpoints,
          providerEnv,
        });
      } catch (error) {
        deps.logger.warn(
          { slug, err: error instanceof ProviderError ? { code: error.providerCode, status: error.status } : { message: (error as Error).message } },
          'account lookup failed',
        );
        return fail('account_lookup_failed', pending.returnUrl);
      }
      const kept = Object.fromEntries((oauth.callbackMetadata ?? []).filter((k) => callbackQuery[k]).map((k) => [k, callbackQuery[k]!]));
      const row = await deps.store.saveConnected({
        workspaceId: pending.workspaceId,
        slug,
        actor: pending.actor,
        account,
        credentials: { type: 'oauth2', tokens: exchanged.tokens },
        scopes: exchanged.tokens.scopes ?? pending.scopes,
        metadata: { ...kept, ...account.metadata },
      });
      return { status: 'connected', slug, integrationId: row.id, returnUrl: pending.returnUrl };
    },
  };
}

export type CallbackService = ReturnType<typeof createCallbackService>;
