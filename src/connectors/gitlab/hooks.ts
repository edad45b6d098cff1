// GitLab provider code: expiry from `created_at` when `expires_in` is missing, and the account is the user
// behind the token on this deployment's GitLab instance (gitlab.com or self-managed through the overrides).
import { z } from 'zod';
import { ProviderError } from '../../errors.js';
import type { ConnectorHooks, ProviderHttp } from '../types.js';
import { parseGitLabTokenResponse } from './token-response.js';

const user = z.object({ id: z.number().int().positive(), username: z.string().min(1), name: z.string().nullish() });
const projects = z.array(z.object({ id: z.number().int().positive() }));

/** Projects whose webhooks route to the connection: the user's most recently active ones, one page of 100. */
const ROUTED_PROJECTS = 100;

/**
 * The projects the user is a member of, as webhook routing keys (`project:<host>/<id>`): hook payloads name the
 * project and the instance, never the connection. Projects joined later reach the connection through a hook URL
 * naming it (`/webhooks/gitlab/<integrationId>`).
 */
async function memberProjectKeys(http: ProviderHttp, apiBaseUrl: string, accessToken: string): Promise<string[]> {
  const host = new URL(apiBaseUrl).host.toLowerCase();
  const url = `${apiBaseUrl}/projects?membership=true&simple=true&order_by=last_activity_at&sort=desc&per_page=${ROUTED_PROJECTS}`;
  try {
    const found = projects.parse(await http.json(url, { headers: { authorization: `Bearer ${accessToken}` } }));
    return found.slice(0, ROUTED_PROJECTS).map((p) => `project:${host}/${p.id}`);
  } catch (error) {
    // A token without read_api may not list projects: the connection still works, routed by its hook URLs only.
    if (error instanceof ProviderError && error.status === 403) return [];
    throw error;
  }
}

export const hooks: ConnectorHooks = {
  parseTokenResponse: (response) => parseGitLabTokenResponse(response),

  async afterConnect({ tokens, http, endpoints }) {
    const me = user.parse(await http.json(`${endpoints.apiBaseUrl}/user`, { headers: { authorization: `Bearer ${tokens.accessToken}` } }));
    return {
      id: String(me.id),
      name: me.username,
      // The instance matters for self-managed GitLab: webhooks name it in X-Gitlab-Instance.
      metadata: { userId: String(me.id), username: me.username, instanceUrl: new URL(endpoints.apiBaseUrl).origin },
      routingKeys: [`user:${me.id}`, ...(await memberProjectKeys(http, endpoints.apiBaseUrl, tokens.accessToken))],
    };
  },
};
