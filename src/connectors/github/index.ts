// GitHub: pull requests, CI health and delivery pace for the CTO (OAuth App or GitHub App user tokens).
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'github',
  name: 'GitHub',
  category: 'engineering',
  roles: ['cto'],
  envPrefix: 'GITHUB',
  docsUrl: 'https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://github.com/login/oauth/authorize',
    // Answers form-encoded unless the request says Accept: application/json.
    tokenUrl: 'https://github.com/login/oauth/access_token',
    revokeUrl: 'https://api.github.com/applications/{clientId}/token',
    revoke: { method: 'DELETE', auth: 'basic', bodyFormat: 'json', token: 'access', param: 'access_token' },
    scopes: {
      // OAuth App scopes have no read-only variant for private repositories: `repo` is the least that sees them.
      default: ['read:user', 'read:org', 'repo'],
      available: [
        'read:user',
        'read:org',
        'repo',
        'public_repo',
        'repo:status',
        'user:email',
        'read:project',
        'read:discussion',
        'read:packages',
        'security_events',
        'admin:repo_hook',
        'admin:org_hook',
      ],
      separator: ' ',
    },
    // S256 PKCE is accepted since 2025-07-14 (github.blog changelog; the stored docs copy is older).
    pkce: true,
    clientAuth: 'body',
    tokenBodyFormat: 'form',
    // OAuth App tokens do not expire; GitHub App user tokens last 8 h with single-use refresh tokens.
    refresh: 'rotating',
  },
  api: {
    baseUrl: 'https://api.github.com',
    rateLimit: { points: 5000, windowSeconds: 3600 },
  },
  extraEnv: {
    GITHUB_WEBHOOK_SECRET: 'Secret of the GitHub webhook: verifies X-Hub-Signature-256.',
  },
  widgets,
  hooks,
  webhooks,
});
