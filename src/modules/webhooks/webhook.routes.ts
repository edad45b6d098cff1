// POST /webhooks/:connectorSlug (and /webhooks/:connectorSlug/:integrationId where a provider needs a URL per
// connection): the body is kept as raw bytes whatever its type, because signatures are computed over them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';

const slugParams = z.object({ connectorSlug: z.string().min(1).max(64) });
const connectionParams = slugParams.extend({ integrationId: z.string().min(1).max(64) });

function headersOf(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

export function webhookRoutes(deps: Pick<Deps, 'webhookIngest'>) {
  return async function register(app: FastifyInstance) {
    // Only in this plugin: every content type (or none) arrives as the exact bytes sent.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    // A body sent without a Content-Type is still bytes to verify, not a 415.
    app.addHook('onRequest', async (request) => {
      if (!request.headers['content-type'] && request.headers['content-length'] !== '0') request.headers['content-type'] = 'application/octet-stream';
    });

    const r = app.withTypeProvider<ZodTypeProvider>();
    // Providers deliver from a few shared addresses in bursts: no per-IP limit here (verification is cheap and
    // every refused delivery is counted in hub_webhook_rejections_total).
    const config = { rateLimit: false } as const;
    const handle = async (request: FastifyRequest<{ Params: { connectorSlug: string; integrationId?: string }; Querystring: Record<string, string> }>, reply: FastifyReply) => {
      const answer = await deps.webhookIngest.receive(request.params.connectorSlug, {
        rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        headers: headersOf(request),
        query: request.query,
        integrationId: request.params.integrationId,
        now: new Date(),
      });
      void reply.code(answer.status).header('cache-control', 'no-store');
      if (answer.headers) void reply.headers(answer.headers);
      if (answer.body === undefined) return reply.send();
      return reply.type(answer.contentType ?? 'text/plain; charset=utf-8').serializer((x) => x as string).send(answer.body);
    };

    const schema = (params: z.ZodType) => ({
      tags: ['webhooks'],
      summary: 'Receive a provider webhook (verified on the raw body, stored, then acknowledged)',
      params,
      querystring: z.record(z.string(), z.string().max(4096)),
    });
    r.post('/webhooks/:connectorSlug', { config, schema: schema(slugParams) }, handle);
    r.post('/webhooks/:connectorSlug/:integrationId', { config, schema: schema(connectionParams) }, handle);
  };
}
