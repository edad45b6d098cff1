// Slack: workspace size, channels and activity for every executive, through a bot token (OAuth v2).
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'slack',
  name: 'Slack',
  category: 'communication',
  roles: ['common'],
  envPrefix: 'SLACK',
  docsUrl: 'https://docs.slack.dev/authentication/installing-with-oauth',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://slack.com/oauth/v2/authorize',
    tokenUrl: 'https://slack.com/api/oauth.v2.access',
    revokeUrl: 'https://slack.com/api/auth.revoke',
    // auth.revoke takes the token in the Authorization header, not a body parameter.
    revoke: { method: 'POST', auth: 'bearer', bodyFormat: 'form', token: 'access' },
    scopes: {
      // Bot scopes (`scope`); user scopes (`user_scope`) are not requested: the dashboard reads as the app.
      default: ['team:read', 'channels:read', 'users:read'],
      available: [
        'team:read',
        'channels:read',
        'users:read',
        'channels:history',
        'groups:read',
        'groups:history',
        'im:read',
        'mpim:read',
        'users:read.email',
        'usergroups:read',
        'reactions:read',
        'files:read',
        'pins:read',
        'bookmarks:read',
        'emoji:read',
      ],
      separator: ',',
      param: 'scope',
    },
    // ⚠ PROVIDERS.md: Slack accepts code_verifier, but PKCE must be switched on in the app settings, which
    // turns the app into a public client for good (docs.slack.dev changelog 2026-03-30). A server-side app
    // keeps its secret instead, as Nango does.
    pkce: false,
    // Slack asks for HTTP Basic rather than credentials in the body.
    clientAuth: 'basic',
    tokenBodyFormat: 'form',
    // Tokens never expire unless token rotation is enabled for the app; then refresh tokens are single-use.
    refresh: 'rotating',
  },
  api: {
    baseUrl: 'https://slack.com/api',
    // Per method per workspace; Tier 2 (20+/min: conversations.list, users.list) is the tightest we call.
    rateLimit: { points: 20, windowSeconds: 60 },
  },
  extraEnv: {
    SLACK_SIGNING_SECRET: 'Signing secret of the Slack app: verifies Events API deliveries (X-Slack-Signature).',
  },
  widgets,
  hooks,
  webhooks,
});
