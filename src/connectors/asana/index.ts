// Asana: project progress, overdue work and goals.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

export const connector = defineConnector({
  slug: 'asana',
  name: 'Asana',
  category: 'project-management',
  roles: ['common'],
  envPrefix: 'ASANA',
  docsUrl: 'https://developers.asana.com/docs/oauth',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://app.asana.com/-/oauth_authorize',
    tokenUrl: 'https://app.asana.com/-/oauth_token',
    revokeUrl: 'https://app.asana.com/-/oauth_revoke',
    revoke: { method: 'POST', auth: 'body', bodyFormat: 'form', token: 'refresh' },
    scopes: {
      // Granular scopes must also be enabled in the app's settings, or authorize fails with forbidden_scopes.
      default: ['users:read', 'workspaces:read', 'projects:read', 'tasks:read', 'goals:read'],
      available: [
        'users:read',
        'workspaces:read',
        'projects:read',
        'tasks:read',
        'goals:read',
        'portfolios:read',
        'teams:read',
        'stories:read',
        'tags:read',
        'custom_fields:read',
        'attachments:read',
        'project_templates:read',
        'task_templates:read',
        'workspace.typeahead:read',
        'webhooks:read',
        'webhooks:write',
        'webhooks:delete',
        'openid',
        'email',
        'profile',
      ],
      separator: ' ',
    },
    pkce: true,
    clientAuth: 'body',
    tokenBodyFormat: 'form',
    // ⚠ PROVIDERS.md: refresh tokens are long-lived and not rotated on refresh (not re-verified).
    refresh: 'static',
  },
  api: {
    baseUrl: 'https://app.asana.com/api/1.0',
    // 150 requests per minute per token on free domains (1,500 on paid): plan for the lower one.
    rateLimit: { points: 150, windowSeconds: 60 },
  },
  widgets,
  hooks,
  webhooks,
});
