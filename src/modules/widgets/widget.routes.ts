// HTTP for widget data: query string = widget params, ETag + 304, Cache-Control from the value's freshness.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';
import { connectionParams } from '../connections/connection.schemas.js';
import type { WidgetAnswer } from './widget.service.js';

const widgetAnswer = z
  .object({
    widgetId: z.string(),
    integrationId: z.string(),
    kind: z.enum(['metric', 'list', 'timeseries', 'table']),
    data: z.unknown(),
    fetchedAt: z.string(),
    expiresAt: z.string(),
    stale: z.boolean(),
    source: z.enum(['cache', 'provider']),
  })
  .meta({ id: 'WidgetData' });

interface Rendering {
  etag: string;
  body: string;
  expiresAtMs: number;
}

/**
 * The service hands out one frozen answer object per cached value and variant, so each answer is rendered once (body
 * and ETag) however often it is served, with no per-request schema walk of the data (validated by kind when it was
 * fetched).
 */
function createRenderer() {
  const byAnswer = new WeakMap<WidgetAnswer, Rendering>();
  return (a: WidgetAnswer): Rendering => {
    let made = byAnswer.get(a);
    if (!made) {
      const json = JSON.stringify(a.data);
      made = {
        etag: `W/"${createHash('sha256').update(`${a.integrationId}|${a.widgetId}|${json}|${a.fetchedAt}|${a.stale}`).digest('base64url').slice(0, 27)}"`,
        body:
          `{"widgetId":${JSON.stringify(a.widgetId)},"integrationId":${JSON.stringify(a.integrationId)},"kind":"${a.kind}",` +
          `"data":${json},"fetchedAt":"${a.fetchedAt}","expiresAt":"${a.expiresAt}","stale":${a.stale},"source":"${a.source}"}`,
        expiresAtMs: Date.parse(a.expiresAt),
      };
      byAnswer.set(a, made);
    }
    return made;
  };
}

export function widgetRoutes(deps: Pick<Deps, 'widgets'>) {
  const rendered = createRenderer();

  function send(presented: string | undefined, reply: FastifyReply, result: WidgetAnswer): void {
    const { etag, body, expiresAtMs } = rendered(result);
    const maxAge = result.stale ? 0 : Math.max(0, Math.floor((expiresAtMs - Date.now()) / 1000));
    void reply.header('etag', etag).header('cache-control', `private, max-age=${maxAge}`);
    if (presented && presented.split(',').map((t) => t.trim()).includes(etag)) return void reply.code(304).send(null);
    // Already JSON (the schema above documents it): a string with a JSON content type is sent as is.
    void reply.type('application/json; charset=utf-8').send(body as unknown as WidgetAnswer);
  }

  return async function register(app: FastifyInstance) {
    app.withTypeProvider<ZodTypeProvider>().get('/integrations/:integrationId/widgets/:widgetId/data', {
      schema: {
        tags: ['widgets'],
        summary: "A widget's data (query string = the widget's params; refresh=true forces a provider fetch, rate limited)",
        security: [{ bearer: [] }],
        params: connectionParams.extend({ widgetId: z.string().min(1).max(100) }),
        querystring: z.record(z.string().max(100), z.string().max(2000)),
        response: { 200: widgetAnswer, 304: z.null() },
      },
    }, (request, reply) => {
      const { query } = request;
      const forced = query.refresh === 'true' || query.refresh === '1';
      // The widget's params are the query without `refresh` (copied only when it is there).
      const params = query.refresh === undefined ? query : Object.fromEntries(Object.entries(query).filter(([k]) => k !== 'refresh'));
      const { workspaceId, integrationId, widgetId } = request.params;
      // A fresh value held in this process is answered without a single await; anything else takes the full path.
      const held = forced ? undefined : deps.widgets.peekData(workspaceId, integrationId, widgetId, params);
      if (held) return void send(request.headers['if-none-match'], reply, held);
      return deps.widgets.getData(workspaceId, integrationId, widgetId, params, { refresh: forced }).then((result) => {
        send(request.headers['if-none-match'], reply, result);
      });
    });
  };
}
