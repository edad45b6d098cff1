// QuickBooks Online (Intuit): profit and loss, cash and receivables for the CFO.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'quickbooks',
  name: 'QuickBooks Online',
  category: 'finance',
  roles: ['cfo'],
  envPrefix: 'QUICKBOOKS',
  docsUrl: 'https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://appcenter.intuit.com/connect/oauth2',
    tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
    revokeUrl: 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke',
    revoke: { method: 'POST', auth: 'basic', bodyFormat: 'json', token: 'refresh' },
    scopes: {
      // The accounting scope has no read-only variant.
      default: ['com.intuit.quickbooks.accounting'],
      available: ['com.intuit.quickbooks.accounting', 'openid', 'profile', 'email'],
      separator: ' ',
    },
    // ⚠ PROVIDERS.md: PKCE is not used by Intuit's own SDK; not sent.
    pkce: false,
    clientAuth: 'basic',
    tokenBodyFormat: 'form',
    // The refresh token's value changes about daily: always keep the latest one.
    refresh: 'rotating',
    // The company id arrives only on the redirect, never in the token response.
    callbackMetadata: ['realmId'],
  },
  api: {
    // Production; point QUICKBOOKS_API_URL at https://sandbox-quickbooks.api.intuit.com for sandbox companies.
    baseUrl: 'https://quickbooks.api.intuit.com',
    rateLimit: { points: 500, windowSeconds: 60 },
  },
  extraEnv: {
    QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN: 'Verifier token of the Intuit app webhooks: verifies intuit-signature.',
  },
  widgets,
  hooks,
  webhooks,
});
