// Jira Cloud through Atlassian OAuth 2.0 (3LO): issue counts, sprints and backlog health.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'jira',
  name: 'Jira',
  category: 'project-management',
  roles: ['cto'],
  envPrefix: 'JIRA',
  docsUrl: 'https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://auth.atlassian.com/authorize',
    tokenUrl: 'https://auth.atlassian.com/oauth/token',
    // Atlassian has no revocation endpoint for 3LO tokens: users remove the app under "connected apps".
    scopes: {
      // offline_access is what yields a refresh token. The classic scopes do not reach the Jira Software (agile)
      // API: the two read-only granular ones let the sprint-progress widget list a board's sprints.
      default: ['read:jira-work', 'read:jira-user', 'offline_access', 'read:board-scope:jira-software', 'read:sprint:jira-software'],
      available: [
        'read:jira-work',
        'read:jira-user',
        'offline_access',
        'read:me',
        'read:account',
        'manage:jira-webhook',
        'read:board-scope:jira-software',
        'read:sprint:jira-software',
        'read:issue-details:jira',
        'read:jql:jira',
        'read:project:jira',
      ],
      separator: ' ',
    },
    // ⚠ PROVIDERS.md: PKCE for 3LO is not documented, so it is not sent.
    pkce: false,
    clientAuth: 'body',
    tokenBodyFormat: 'json',
    // Both are required by Atlassian's authorize endpoint.
    authorizeParams: { audience: 'api.atlassian.com', prompt: 'consent' },
    // Each refresh disables the token sent; reusing an old one outside a 10-minute leeway kills the grant.
    refresh: 'rotating',
  },
  // The token is not bound to a site: the site's cloudId (from accessible-resources) is kept at connect time.
  placeholders: {
    cloudId: { metadata: 'cloudId', example: '11223344-a1b2-3b33-c444-def123456789' },
  },
  api: {
    baseUrl: 'https://api.atlassian.com/ex/jira/{cloudId}',
    // ⚠ Points-based limits since 2026-03-02 with per-second burst limiters; values are not published
    // per connection, so this stays well under the burst limit.
    rateLimit: { points: 100, windowSeconds: 10 },
  },
  extraEnv: {
    JIRA_WEBHOOK_SECRET: 'Secret of the Jira admin webhook: verifies X-Hub-Signature.',
  },
  widgets,
  hooks,
  // App webhooks (one per connection, needing the manage:jira-webhook scope) are verified with JIRA_CLIENT_SECRET.
  webhooks,
});
