// Fake Atlassian (Jira Cloud 3LO): authorize requires audience=api.atlassian.com and prompt=consent, the token
// endpoint takes a JSON body with the client creds in it, refresh tokens rotate (an old one presented again
// kills the grant) and dead ones answer 403, there is no revocation endpoint, and the API gateway answers
// /oauth/token/accessible-resources with the sites the grant covers.
import { bearerToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const JIRA_PATHS = { authorize: '/authorize', token: '/oauth/token', api: '/ex/jira/{cloudId}' };

export interface AtlassianSite {
  id: string;
  url: string;
  name: string;
  scopes: string[];
  avatarUrl: string;
}

export interface FakeJira extends FakeOAuthProvider {
  /** The sites accessible-resources lists for grants made from now on. */
  setSites(sites: AtlassianSite[]): void;
  /** Authorize requests refused for a missing audience or prompt. */
  refusedAuthorizations: { count: number };
}

const site = (id: string, name: string, scopes: string[]): AtlassianSite => ({
  id,
  url: `https://${name}.atlassian.net`,
  name,
  scopes,
  avatarUrl: 'https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png',
});

/** A Confluence-only site first (the hub must skip it), then the Jira site, then a second Jira site. */
export const DEFAULT_SITES: AtlassianSite[] = [
  site('0d2a4b1c-0000-4000-8000-00000000c0f1', 'acme-wiki', ['read:confluence-content.all']),
  site('11223344-a1b2-4b33-c444-def123456789', 'acme', ['read:jira-work', 'read:jira-user']),
  site('99887766-f1e2-4d3c-b4a5-0a1b2c3d4e5f', 'acme-labs', ['read:jira-work']),
];

export async function startFakeJira(): Promise<FakeJira> {
  let sites = DEFAULT_SITES;
  const refusedAuthorizations = { count: 0 };
  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'json',
      // PKCE is not documented for 3LO: the fake refuses it, so the hub never relies on it.
      pkce: 'unsupported',
      refresh: 'rotating',
      accessTtlSeconds: 3600,
      paths: { authorize: JIRA_PATHS.authorize, token: JIRA_PATHS.token },
      grantExtra: () => ({ sites }),
      // A dead or reused refresh token: 403 {"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}
      errorReply: ({ status, error, description }) =>
        error === 'invalid_grant'
          ? { status: 403, body: { error, error_description: /refresh/.test(description) ? 'Unknown or invalid refresh token.' : 'Invalid authorization code' } }
          : { status, body: { error, error_description: description } },
    },
    (app, provider) => {
      app.addHook('onRequest', async (req, reply) => {
        if (req.method !== 'GET' || req.url.split('?')[0] !== JIRA_PATHS.authorize) return;
        const q = req.query as Record<string, string | undefined>;
        if (q.audience !== 'api.atlassian.com' || q.prompt !== 'consent') {
          refusedAuthorizations.count++;
          return reply.code(400).type('text/plain').send('audience=api.atlassian.com and prompt=consent are required');
        }
      });
      app.get('/oauth/token/accessible-resources', async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ code: 401, message: 'Unauthorized' });
        return grant.extra.sites;
      });
    },
  )) as FakeJira;
  return Object.assign(fake, { setSites: (s: AtlassianSite[]) => void (sites = s), refusedAuthorizations });
}
