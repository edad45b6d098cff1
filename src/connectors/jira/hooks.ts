// Jira provider code: a 3LO token is not bound to a site, so the site (cloudId + URL) is looked up after
// connect through Atlassian's accessible-resources; plus Atlassian's extra dead-grant signal.
import { z } from 'zod';
import type { ConnectorHooks } from '../types.js';
import { APP_WEBHOOKS_FLAG, WEBHOOK_SCOPE } from './webhook-subscriptions.js';

const resources = z.array(
  z.object({
    id: z.string().min(1),
    url: z.url({ protocol: /^https?$/ }),
    name: z.string().min(1),
    scopes: z.array(z.string()).default([]),
  }),
);

// Granted Jira scopes name Jira (`read:jira-work`, `read:issue-details:jira`, `…:jira-software`); a site
// listed only for Confluence scopes cannot serve Jira calls.
const isJiraScope = (scope: string) => /jira/.test(scope);

export const hooks: ConnectorHooks = {
  async afterConnect({ tokens, http, endpoints }) {
    // accessible-resources lives on the API gateway (api.atlassian.com), outside the Jira base path
    // `/ex/jira/{cloudId}`: taking the origin of the API base keeps JIRA_API_URL in charge of where it goes.
    const url = `${new URL(endpoints.apiBaseUrl).origin}/oauth/token/accessible-resources`;
    const sites = resources.parse(await http.json(url, { headers: { authorization: `Bearer ${tokens.accessToken}` } }));
    // One connection is one site. The consent screen has the user pick the site; when the grant covers
    // several, the first Jira one is taken (as Nango does) and the user can connect again for another.
    const site = sites.find((s) => s.scopes.some(isJiraScope));
    if (!site) throw new Error('the grant covers no Jira site');
    const siteUrl = new URL(site.url);
    return {
      id: site.id,
      name: site.name,
      metadata: {
        cloudId: site.id,
        siteUrl: siteUrl.origin,
        siteName: site.name,
        // The app webhook needs manage:jira-webhook; the subscription plan reads this flag, as a subscription's
        // context does not carry the granted scopes (without it every registration would fail, and be retried).
        ...(tokens.scopes?.includes(WEBHOOK_SCOPE) ? { [APP_WEBHOOKS_FLAG]: 'granted' } : {}),
      },
      // Jira webhook payloads carry no cloudId: they are routed by the site host found in `issue.self`.
      routingKeys: [`cloud:${site.id}`, `site:${siteUrl.host.toLowerCase()}`],
    };
  },

  // Atlassian answers a dead refresh token with 403 invalid_grant (handled by the engine) and, as reported
  // by developers, with unauthorized_client.
  isDeadGrant: ({ status, error }) => error === 'unauthorized_client' && status >= 400 && status < 500,
};
