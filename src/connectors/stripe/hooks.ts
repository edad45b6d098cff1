// Stripe provider code: restricted-key check, Connect account lookup (stripe_user_id), Connect deauthorization.
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ConnectorHooks } from '../types.js';
import { lookUpAccount, stripeAccountId } from './account.js';

/**
 * Only restricted keys: a dashboard reads, and a secret key (sk_) could move money. Publishable keys (pk_)
 * cannot read at all. Checked before any call so a wrong kind of key never leaves the hub.
 */
const RESTRICTED_KEY = /^rk_(live|test)_[A-Za-z0-9]+$/;

const connectGrantSchema = z.object({ stripe_user_id: stripeAccountId, livemode: z.boolean() });

export const hooks: ConnectorHooks = {
  async verifyApiKey({ credentials, http, endpoints }) {
    const key = credentials.apiKey ?? '';
    const match = RESTRICTED_KEY.exec(key);
    if (!match) {
      throw new AppError('validation_failed', 'Stripe needs a restricted API key (rk_live_… or rk_test_…).', {
        fields: [{ path: 'body.credentials.apiKey', message: 'not a Stripe restricted key' }],
      });
    }
    return lookUpAccount(http, endpoints.apiBaseUrl, key, match[1] === 'live');
  },

  async afterConnect({ tokens, raw, http, endpoints }) {
    // The connected account is stripe_user_id in the token answer; looking it up with the new token both
    // names it and proves the token acts on that account.
    const grant = connectGrantSchema.parse(raw);
    const account = await lookUpAccount(http, endpoints.apiBaseUrl, tokens.accessToken, grant.livemode);
    if (account.id !== grant.stripe_user_id) throw new Error('stripe: the Connect token acts on another account');
    return account;
  },

  apiHeaders(credentials): Record<string, string> {
    // A restricted key and a Connect access token both act on their account as a bearer secret key would.
    const secret = credentials.type === 'oauth2' ? credentials.tokens.accessToken : credentials.fields.apiKey;
    if (!secret) throw new AppError('reauth_required', 'The Stripe connection has no key; reconnect it.');
    return { authorization: `Bearer ${secret}` };
  },

  async revoke({ metadata, accountId, http, endpoints, providerEnv }) {
    // Deauthorization names the platform (client_id) and the account, not a token, under the platform's
    // secret key (STRIPE_CLIENT_SECRET) as the Basic user name: more than `auth.revoke` can describe.
    const account = stripeAccountId.parse(metadata.accountId ?? accountId);
    if (!endpoints.revokeUrl || !providerEnv.clientId || !providerEnv.clientSecret) {
      throw new Error('stripe: Connect is not configured on this hub, cannot deauthorize');
    }
    await http.json(endpoints.revokeUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${providerEnv.clientSecret}:`).toString('base64')}` },
      form: { client_id: providerEnv.clientId, stripe_user_id: account },
    });
  },
};
