// Fake Notion: a public connection's OAuth (HTTP Basic + JSON body at /v1/oauth/token, no PKCE, no scopes,
// owner=user, rotating refresh tokens, no expires_in) and Basic-authenticated JSON /v1/oauth/revoke.
import { randomUUID } from 'node:crypto';
import { basicCredentials, contentTypeOf, randomToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const NOTION_PATHS = { authorize: '/v1/oauth/authorize', token: '/v1/oauth/token', revoke: '/v1/oauth/revoke', api: '/v1' };

export interface NotionWorkspace {
  workspaceId: string;
  workspaceName: string;
  botId: string;
  userId: string;
}

export interface FakeNotion extends FakeOAuthProvider {
  /** The workspace the next consent is given in (default: a fresh one). */
  nextWorkspace(workspace: Partial<NotionWorkspace>): void;
  /** The next token call fails in Notion's API envelope `{ object: "error", status, code, message }`. */
  failNextTokenAsApiError(status: number, code: string): void;
}

export async function startFakeNotion(): Promise<FakeNotion> {
  let next: Partial<NotionWorkspace> = {};
  let envelopeNext = false;
  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'basic',
      bodyFormat: 'json',
      pkce: 'unsupported',
      refresh: 'rotating',
      paths: { authorize: NOTION_PATHS.authorize, token: NOTION_PATHS.token },
      grantExtra: () => {
        const workspace: NotionWorkspace = { workspaceId: randomUUID(), workspaceName: 'Acme Wiki', botId: randomUUID(), userId: randomUUID(), ...next };
        next = {};
        return { ...workspace };
      },
      tokenBody: ({ grant }) => {
        const w = grant.extra as unknown as NotionWorkspace;
        grant.accessToken = randomToken('ntn_');
        return {
          access_token: grant.accessToken,
          token_type: 'bearer',
          refresh_token: grant.refreshToken,
          bot_id: w.botId,
          workspace_id: w.workspaceId,
          workspace_name: w.workspaceName,
          workspace_icon: null,
          owner: { type: 'user', user: { object: 'user', id: w.userId, name: 'Ada CEO', avatar_url: null, type: 'person', person: { email: 'ada@example.com' } } },
          duplicated_template_id: null,
          request_id: randomUUID(),
        };
      },
      errorReply: ({ status, error, description }) => {
        if (envelopeNext && description === 'injected failure') {
          envelopeNext = false;
          return { status, body: { object: 'error', status, code: error, message: 'The refresh token is invalid.', request_id: randomUUID() } };
        }
        return { status, body: { error, error_description: description, request_id: randomUUID() } };
      },
    },
    (app, provider) => {
      // A public connection's authorize URL must say who owns the bot.
      app.addHook('onRequest', async (req, reply) => {
        if (req.url.split('?')[0] === NOTION_PATHS.authorize && new URL(req.url, 'http://x').searchParams.get('owner') !== 'user') {
          return reply.code(400).send({ object: 'error', status: 400, code: 'validation_error', message: 'owner must be user' });
        }
      });
      app.post(NOTION_PATHS.revoke, async (req, reply) => {
        provider.calls.revokes++;
        const client = basicCredentials(req);
        if (client?.id !== provider.clientId || client.secret !== provider.clientSecret) {
          return reply.code(401).send({ object: 'error', status: 401, code: 'unauthorized', message: 'Invalid client.' });
        }
        const token = contentTypeOf(req) === 'json' ? (req.body as { token?: unknown }).token : undefined;
        const grant = typeof token === 'string' ? provider.grantOfAccessToken(token) : undefined;
        if (!grant) return reply.code(400).send({ object: 'error', status: 400, code: 'validation_error', message: 'body.token is not a valid token.' });
        grant.revoked = true;
        return {};
      });
    },
  )) as FakeNotion;
  return Object.assign(fake, {
    nextWorkspace: (workspace: Partial<NotionWorkspace>) => void (next = workspace),
    failNextTokenAsApiError(status: number, code: string) {
      envelopeNext = true;
      fake.failNextToken(status, code);
    },
  });
}
