// Fake Notion: a public connection's OAuth (HTTP Basic + JSON body at /v1/oauth/token, no PKCE, no scopes,
// owner=user, rotating refresh tokens, no expires_in), Basic-authenticated JSON /v1/oauth/revoke, and the API
// calls the widgets make (search, data source query) with Notion-Version, cursor paging and Notion's error envelope.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { basicCredentials, bearerToken, contentTypeOf, randomToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const NOTION_PATHS = { authorize: '/v1/oauth/authorize', token: '/v1/oauth/token', revoke: '/v1/oauth/revoke', api: '/v1' };

export interface NotionWorkspace {
  workspaceId: string;
  workspaceName: string;
  botId: string;
  userId: string;
}

export interface FakeNotionPage {
  id: string;
  title: string;
  lastEditedTime: string;
  inTrash?: boolean;
}

/** A database's data source: its items carry a title and one status-like property. */
export interface FakeDataSource {
  statusProperty: string;
  statusType: 'status' | 'select' | 'rich_text';
  items: { id: string; title: string; status: string | null }[];
}

export interface FakeNotionApi {
  calls: number;
  searchCalls: number;
  queryCalls: number;
  delayMs: number;
  failures: { status: number; headers?: Record<string, string> }[];
  /** The Notion-Version header of the latest API call. */
  lastVersion?: string;
}

export interface FakeNotion extends FakeOAuthProvider {
  /** Pages shared with every connection of this fake (search reads them). */
  pages: FakeNotionPage[];
  dataSources: Map<string, FakeDataSource>;
  api: FakeNotionApi;
  /** The workspace the next consent is given in (default: a fresh one). */
  nextWorkspace(workspace: Partial<NotionWorkspace>): void;
  /** The next token call fails in Notion's API envelope `{ object: "error", status, code, message }`. */
  failNextTokenAsApiError(status: number, code: string): void;
}

const API_VERSIONS = new Set(['2022-06-28', '2025-09-03']);
const ERROR_CODES: Record<number, string> = { 400: 'validation_error', 401: 'unauthorized', 404: 'object_not_found', 409: 'conflict_error', 429: 'rate_limited', 500: 'internal_server_error', 502: 'bad_gateway', 503: 'service_unavailable', 529: 'service_overload' };

function notionError(reply: FastifyReply, status: number, message: string, headers: Record<string, string> = {}, code = ERROR_CODES[status] ?? 'internal_server_error') {
  return reply.code(status).headers(headers).send({ object: 'error', status, code, message, request_id: randomUUID() });
}

const compact = (id: string) => id.replace(/-/g, '');
const text = (value: string) => [{ type: 'text', text: { content: value, link: null }, plain_text: value, href: null, annotations: { bold: false, italic: false, strikethrough: false, underline: false, code: false, color: 'default' } }];

function pageObject(id: string, title: string, lastEditedTime: string, parent: Record<string, unknown>, properties: Record<string, unknown>, titleName = 'title') {
  return {
    object: 'page',
    id,
    created_time: '2024-01-02T03:04:00.000Z',
    last_edited_time: lastEditedTime,
    created_by: { object: 'user', id: '00000000-0000-4000-8000-0000000000a1' },
    last_edited_by: { object: 'user', id: '00000000-0000-4000-8000-0000000000a1' },
    cover: null,
    icon: null,
    parent,
    archived: false,
    in_trash: false,
    is_locked: false,
    properties: { [titleName]: { id: 'title', type: 'title', title: text(title) }, ...properties },
    url: `https://www.notion.so/${title.replace(/[^A-Za-z0-9]+/g, '-')}-${compact(id)}`,
    public_url: null,
  };
}

/** Notion's cursor paging: the cursor is the id of the first item of the next page. */
function paged<T extends { id: string }>(reply: FastifyReply, all: T[], body: { page_size?: unknown; start_cursor?: unknown }, toObject: (item: T) => unknown) {
  const size = body.page_size === undefined ? 100 : Number(body.page_size);
  if (!Number.isInteger(size) || size < 1 || size > 100) return notionError(reply, 400, 'body failed validation: body.page_size should be ≤ `100`.');
  let start = 0;
  if (body.start_cursor !== undefined) {
    start = all.findIndex((item) => item.id === body.start_cursor);
    if (start < 0) return notionError(reply, 400, 'The start_cursor provided is invalid.');
  }
  const page = all.slice(start, start + size);
  const next = all[start + size];
  return reply.send({ object: 'list', results: page.map(toObject), next_cursor: next ? next.id : null, has_more: Boolean(next), type: 'page_or_data_source', page_or_data_source: {}, request_id: randomUUID() });
}

function addApiRoutes(app: FastifyInstance, provider: FakeOAuthProvider, state: Pick<FakeNotion, 'pages' | 'dataSources' | 'api'>) {
  const { api } = state;
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!path.startsWith(`${NOTION_PATHS.api}/`) || path.startsWith(`${NOTION_PATHS.api}/oauth/`)) return;
    api.calls++;
    if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
    const failure = api.failures.shift();
    if (failure) return notionError(reply, failure.status, 'Injected failure.', failure.headers);
    if (!provider.grantOfAccessToken(bearerToken(req))) return notionError(reply, 401, 'API token is invalid.');
    const version = req.headers['notion-version'];
    api.lastVersion = typeof version === 'string' ? version : undefined;
    if (!api.lastVersion) return notionError(reply, 400, 'Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.', {}, 'missing_version');
    if (!API_VERSIONS.has(api.lastVersion)) return notionError(reply, 400, `Notion-Version header failed validation: ${api.lastVersion} is not a valid version.`);
  });

  app.post(`${NOTION_PATHS.api}/search`, async (req, reply) => {
    api.searchCalls++;
    const body = (req.body ?? {}) as { filter?: { property?: string; value?: string }; sort?: { timestamp?: string; direction?: string }; page_size?: number; start_cursor?: string };
    const kinds = api.lastVersion === '2022-06-28' ? ['page', 'database'] : ['page', 'data_source'];
    if (body.filter && (body.filter.property !== 'object' || !kinds.includes(body.filter.value ?? ''))) {
      return notionError(reply, 400, `body failed validation: body.filter.value should be one of ${kinds.join(', ')}.`);
    }
    if (body.sort && (body.sort.timestamp !== 'last_edited_time' || !['ascending', 'descending'].includes(body.sort.direction ?? ''))) {
      return notionError(reply, 400, 'body failed validation: body.sort is invalid.');
    }
    const sign = body.sort?.direction === 'ascending' ? 1 : -1;
    const pages = state.pages.filter((p) => !p.inTrash).sort((a, b) => sign * (Date.parse(a.lastEditedTime) - Date.parse(b.lastEditedTime)));
    return paged(reply, pages, body, (p) => pageObject(p.id, p.title, p.lastEditedTime, { type: 'workspace', workspace: true }, {}));
  });

  app.post(`${NOTION_PATHS.api}/data_sources/:id/query`, async (req, reply) => {
    api.queryCalls++;
    if (api.lastVersion !== '2025-09-03') return notionError(reply, 400, 'Invalid request URL.', {}, 'invalid_request_url');
    const { id } = req.params as { id: string };
    const source = [...state.dataSources.entries()].find(([key]) => compact(key) === compact(id))?.[1];
    if (!source) return notionError(reply, 404, `Could not find data_source with ID: ${id}. Make sure the relevant pages and databases are shared with your integration.`);
    const property = (status: string | null) => {
      if (source.statusType === 'rich_text') return { id: 'st', type: 'rich_text', rich_text: status ? text(status) : [] };
      const option = status ? { id: `opt-${status}`, name: status, color: 'default' } : null;
      return { id: 'st', type: source.statusType, [source.statusType]: option };
    };
    return paged(reply, source.items, (req.body ?? {}) as { page_size?: number; start_cursor?: string }, (item) =>
      pageObject(item.id, item.title, '2025-01-01T00:00:00.000Z', { type: 'data_source_id', data_source_id: id, database_id: randomUUID() }, { [source.statusProperty]: property(item.status) }, 'Name'),
    );
  });
}

export async function startFakeNotion(): Promise<FakeNotion> {
  const state: Pick<FakeNotion, 'pages' | 'dataSources' | 'api'> = {
    pages: [],
    dataSources: new Map(),
    api: { calls: 0, searchCalls: 0, queryCalls: 0, delayMs: 0, failures: [] },
  };
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
      addApiRoutes(app, provider, state);
    },
  )) as FakeNotion;
  return Object.assign(fake, state, {
    nextWorkspace: (workspace: Partial<NotionWorkspace>) => void (next = workspace),
    failNextTokenAsApiError(status: number, code: string) {
      envelopeNext = true;
      fake.failNextToken(status, code);
    },
  });
}
