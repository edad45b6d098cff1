// Notion: recently edited pages and database-backed trackers of a workspace (public connection).
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'notion',
  name: 'Notion',
  category: 'knowledge',
  roles: ['common'],
  envPrefix: 'NOTION',
  docsUrl: 'https://developers.notion.com/docs/authorization',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://api.notion.com/v1/oauth/authorize',
    tokenUrl: 'https://api.notion.com/v1/oauth/token',
    revokeUrl: 'https://api.notion.com/v1/oauth/revoke',
    revoke: { method: 'POST', auth: 'basic', bodyFormat: 'json', token: 'access' },
    // Notion has no OAuth scopes: the user picks the pages to share on the consent screen.
    scopes: { default: [], available: [], separator: ' ' },
    // Not supported for third-party connections.
    pkce: false,
    clientAuth: 'basic',
    tokenBodyFormat: 'json',
    authorizeParams: { owner: 'user' },
    // Refreshing returns a new access token and a new refresh token; the old one stops working.
    refresh: 'rotating',
  },
  api: {
    baseUrl: 'https://api.notion.com/v1',
    // An average of 3 requests per second per connection, bursts allowed.
    rateLimit: { points: 180, windowSeconds: 60 },
  },
  extraEnv: {
    NOTION_WEBHOOK_VERIFICATION_TOKEN: 'verification_token of the Notion webhook subscription: verifies X-Notion-Signature.',
  },
  widgets,
  hooks,
  webhooks,
});
