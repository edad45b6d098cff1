// Microsoft Teams through Microsoft Graph: teams, chats and the Outlook/Teams calendar.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { AVAILABLE_SCOPES, DEFAULT_SCOPES } from './scopes.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'microsoft-teams',
  name: 'Microsoft Teams',
  category: 'communication',
  roles: ['common'],
  envPrefix: 'MICROSOFT',
  docsUrl: 'https://learn.microsoft.com/graph/auth-v2-user',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
    tokenUrl: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
    // Entra has no per-app revocation endpoint (revokeSignInSessions ends every app's sessions): none here.
    scopes: {
      default: DEFAULT_SCOPES,
      available: AVAILABLE_SCOPES,
      // Space only: comma-separated scopes fail on refresh for work and school accounts.
      separator: ' ',
    },
    pkce: true,
    clientAuth: 'body',
    tokenBodyFormat: 'form',
    authorizeParams: { response_mode: 'query' },
    // A new refresh token on every use; the old one is not revoked but must be replaced.
    refresh: 'rotating',
  },
  placeholders: {
    tenant: { env: 'MICROSOFT_TENANT', default: 'common', example: 'common' },
  },
  api: {
    baseUrl: 'https://graph.microsoft.com/v1.0',
    // Teams "other GET" calls: 30 requests per second per app per tenant.
    rateLimit: { points: 30, windowSeconds: 1 },
  },
  extraEnv: {
    MICROSOFT_TENANT: 'Entra tenant in the authorize and token URLs: common (default), organizations, consumers or a tenant id.',
  },
  widgets,
  hooks,
  webhooks,
});
