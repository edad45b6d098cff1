// GitHub provider code: the account is the user behind the token; the GitHub App installations that user
// can reach are the tenant keys that route App webhooks (`installation.id`) to the connection.
import { z } from 'zod';
import { ProviderError } from '../../errors.js';
import type { ConnectorHooks, ProviderHttp } from '../types.js';
import { parseGitHubTokenResponse } from './token-response.js';

const user = z.object({ id: z.number().int().positive(), login: z.string().min(1), name: z.string().nullish() });
const installationList = z.object({ installations: z.array(z.object({ id: z.number().int().positive() })) });

const apiHeaders = (token: string) => ({
  authorization: `Bearer ${token}`,
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
});

/**
 * Installation ids come only from this call, authenticated by the user's token: never from the callback's
 * `installation_id` query parameter, which the browser controls and could point at someone else's install.
 * OAuth App tokens cannot list installations (GitHub answers 403): they simply have none.
 */
async function reachableInstallations(http: ProviderHttp, apiBaseUrl: string, token: string): Promise<number[]> {
  try {
    const body = await http.json(`${apiBaseUrl}/user/installations?per_page=100`, { headers: apiHeaders(token) });
    return installationList.parse(body).installations.map((i) => i.id);
  } catch (error) {
    if (error instanceof ProviderError && (error.status === 403 || error.status === 404)) return [];
    throw error;
  }
}

export const hooks: ConnectorHooks = {
  parseTokenResponse: (response) => parseGitHubTokenResponse(response),

  async afterConnect({ tokens, http, endpoints }) {
    const me = user.parse(await http.json(`${endpoints.apiBaseUrl}/user`, { headers: apiHeaders(tokens.accessToken) }));
    const installations = await reachableInstallations(http, endpoints.apiBaseUrl, tokens.accessToken);
    return {
      id: String(me.id),
      name: me.login,
      metadata: {
        login: me.login,
        userId: String(me.id),
        ...(installations.length ? { installationIds: installations.join(',') } : {}),
      },
      routingKeys: [`user:${me.id}`, ...installations.map((id) => `installation:${id}`)],
    };
  },

  // A dead (revoked, expired or already used) refresh token is answered with HTTP 200 and this code.
  isDeadGrant: ({ error }) => error === 'bad_refresh_token',

  // GitHub asks for its media type and a pinned API version on every REST call.
  apiHeaders: (credentials) => (credentials.type === 'oauth2' ? apiHeaders(credentials.tokens.accessToken) : {}),
};
