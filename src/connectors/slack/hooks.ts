// Slack provider code: the oauth.v2.access envelope, the workspace (or Enterprise Grid org) as the account,
// and Slack's own names for a dead grant.
import type { ConnectorHooks } from '../types.js';
import { parseSlackTokenResponse, slackAccessSchema } from './token-response.js';
import { statusOfSlackError } from './web-api.js';

/**
 * Refresh failures only the user can fix. Slack says them as HTTP 200 `ok:false` (`invalid_refresh_token`,
 * `token_revoked`, `account_inactive`); an HTTP 400 `invalid_grant` has also been seen (⚠ PROVIDERS.md: both).
 */
const DEAD_GRANT_ERRORS = new Set(['invalid_refresh_token', 'token_revoked', 'account_inactive', 'invalid_grant']);

export const hooks: ConnectorHooks = {
  parseTokenResponse: parseSlackTokenResponse,

  // Web API failures come as HTTP 200 `ok:false`: give the client the status they mean (invalid_auth → 401 …).
  apiError({ status, body }) {
    if (status !== 200 || !body || typeof body !== 'object' || (body as { ok?: unknown }).ok !== false) return undefined;
    const error = String((body as { error?: unknown }).error ?? 'slack_error');
    return { status: statusOfSlackError(error), code: error };
  },

  async afterConnect({ raw }) {
    const a = slackAccessSchema.parse(raw);
    // An org-wide install has no team: the Enterprise Grid org is the account, and its events carry enterprise_id.
    const owner = (a.is_enterprise_install ? a.enterprise : a.team) ?? a.team ?? a.enterprise;
    if (!owner) throw new Error('slack: the install names neither a team nor an enterprise');
    const metadata: Record<string, string> = {};
    if (a.team) metadata.teamId = a.team.id;
    if (a.enterprise) metadata.enterpriseId = a.enterprise.id;
    if (a.bot_user_id) metadata.botUserId = a.bot_user_id;
    if (a.app_id) metadata.appId = a.app_id;
    if (a.authed_user) metadata.authedUserId = a.authed_user.id;
    if (a.incoming_webhook?.channel_id) metadata.incomingWebhookChannelId = a.incoming_webhook.channel_id;
    // The org key only for org-wide installs: a workspace-level install inside a Grid org must not receive the
    // org's events (an org-wide app_uninstalled would otherwise disconnect it too).
    const routingKeys = [...(a.team ? [`team:${a.team.id}`] : []), ...(a.is_enterprise_install && a.enterprise ? [`enterprise:${a.enterprise.id}`] : [])];
    return { id: owner.id, name: owner.name ?? owner.id, metadata, routingKeys };
  },

  isDeadGrant: ({ error }) => DEAD_GRANT_ERRORS.has(error),
};
