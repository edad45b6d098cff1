// GitLab (gitlab.com; self-managed through the GITLAB_*_URL overrides): merge requests and pipelines.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'gitlab',
  name: 'GitLab',
  category: 'engineering',
  roles: ['cto'],
  envPrefix: 'GITLAB',
  docsUrl: 'https://docs.gitlab.com/api/oauth2/',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://gitlab.com/oauth/authorize',
    tokenUrl: 'https://gitlab.com/oauth/token',
    revokeUrl: 'https://gitlab.com/oauth/revoke',
    revoke: { method: 'POST', auth: 'body', bodyFormat: 'form', token: 'refresh' },
    scopes: {
      default: ['read_api'],
      // `api` (read-write) is only for callers that register project webhooks.
      available: ['read_api', 'read_user', 'read_repository', 'read_registry', 'openid', 'profile', 'email', 'api'],
      separator: ' ',
    },
    pkce: true,
    clientAuth: 'body',
    // ⚠ PROVIDERS.md: JSON is said to be accepted too; form is the documented encoding.
    tokenBodyFormat: 'form',
    // Access tokens last 2 h (`expires_in` is missing on some versions: see hooks); each refresh returns a
    // new refresh token and revokes the one sent.
    refresh: 'rotating',
  },
  api: {
    baseUrl: 'https://gitlab.com/api/v4',
    // gitlab.com: 2,000 authenticated API requests per minute per user.
    rateLimit: { points: 2000, windowSeconds: 60 },
  },
  extraEnv: {
    GITLAB_WEBHOOK_TOKEN: 'Secret token of the GitLab webhooks: compared with X-Gitlab-Token.',
    GITLAB_WEBHOOK_SIGNING_TOKEN: 'Signing token of the GitLab webhooks (whsec_…): verifies webhook-signature. Either token may be set, or both.',
  },
  widgets,
  hooks,
  webhooks,
});
