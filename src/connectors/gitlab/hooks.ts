// GitLab provider code: expiry from `created_at` when `expires_in` is missing, and the account is the user
// behind the token on this deployment's GitLab instance (gitlab.com or self-managed through the overrides).
import { z } from 'zod';
import type { ConnectorHooks } from '../types.js';
import { parseGitLabTokenResponse } from './token-response.js';

const user = z.object({ id: z.number().int().positive(), username: z.string().min(1), name: z.string().nullish() });

export const hooks: ConnectorHooks = {
  parseTokenResponse: (response) => parseGitLabTokenResponse(response),

  async afterConnect({ tokens, http, endpoints }) {
    const me = user.parse(await http.json(`${endpoints.apiBaseUrl}/user`, { headers: { authorization: `Bearer ${tokens.accessToken}` } }));
    return {
      id: String(me.id),
      name: me.username,
      // The instance matters for self-managed GitLab: webhooks name it in X-Gitlab-Instance.
      metadata: { userId: String(me.id), username: me.username, instanceUrl: new URL(endpoints.apiBaseUrl).origin },
      routingKeys: [`user:${me.id}`],
    };
  },
};
