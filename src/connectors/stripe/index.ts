// Stripe: balance, revenue and subscriptions, with a restricted key or through Stripe Connect OAuth.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'stripe',
  name: 'Stripe',
  category: 'payments',
  roles: ['cfo'],
  envPrefix: 'STRIPE',
  docsUrl: 'https://docs.stripe.com/keys#limit-access',
  auth: {
    type: 'apiKey',
    fields: [
      {
        name: 'apiKey',
        label: 'Restricted API key (rk_live_…) with read access',
        secret: true,
        header: { name: 'Authorization', prefix: 'Bearer ' },
      },
    ],
    // Offered when STRIPE_CLIENT_ID (ca_…) and STRIPE_CLIENT_SECRET (the platform's secret key) are set.
    oauth: {
      type: 'oauth2',
      authorizeUrl: 'https://connect.stripe.com/oauth/authorize',
      tokenUrl: 'https://connect.stripe.com/oauth/token',
      // Deauthorize takes client_id and stripe_user_id (not a token) under the platform key: Stripe's own code.
      revokeUrl: 'https://connect.stripe.com/oauth/deauthorize',
      scopes: {
        // One value, not a list; read_write cannot reach accounts controlled by another platform, and a
        // dashboard has no use for it.
        default: ['read_only'],
        available: ['read_only'],
        separator: ' ',
      },
      pkce: false,
      // The platform secret key is sent as client_secret.
      clientAuth: 'body',
      tokenBodyFormat: 'form',
      // Connect access tokens do not expire; the refresh token is never needed.
      refresh: 'none',
    },
  },
  api: {
    baseUrl: 'https://api.stripe.com',
    // Endpoints default to 25 requests per second (100 globally in live mode).
    rateLimit: { points: 25, windowSeconds: 1 },
  },
  extraEnv: {
    STRIPE_WEBHOOK_SECRET:
      'Signing secret (whsec_…) of the Stripe webhook endpoint: verifies Stripe-Signature. Several, comma-separated, when the account endpoint and the Connect endpoint both deliver here.',
  },
  widgets,
  hooks,
  webhooks,
});
