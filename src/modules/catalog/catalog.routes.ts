// HTTP for the public connector catalog: cacheable, no auth.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';
import { catalogQuery, integrationListResponse, integrationResponse } from './catalog.schemas.js';

const CACHE_CONTROL = 'public, max-age=60';

/**
 * The catalog is fixed for the life of the process: each answer is checked against its schema and serialized
 * once, then sent as is (a ~19 KB body re-validated and re-serialized on every request cost half the throughput),
 * with an ETag so clients can revalidate with 304.
 */
function prepared<T>(schema: z.ZodType<T>) {
  const answers = new Map<string, { body: string; etag: string }>();
  return (key: string, build: () => T) => {
    let answer = answers.get(key);
    if (!answer) {
      const body = JSON.stringify(schema.parse(build()));
      answer = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      answers.set(key, answer);
    }
    return answer;
  };
}

function send(request: FastifyRequest, reply: FastifyReply, answer: { body: string; etag: string }) {
  void reply.header('cache-control', CACHE_CONTROL).header('etag', answer.etag);
  const presented = request.headers['if-none-match'];
  if (presented && presented.split(',').map((t) => t.trim()).includes(answer.etag)) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').serializer((x) => x as string).send(answer.body);
}

export function catalogRoutes(deps: Pick<Deps, 'catalog'>) {
  return async function register(app: FastifyInstance) {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const lists = prepared(integrationListResponse);
    const items = prepared(integrationResponse);

    r.get('/integrations', {
      schema: {
        tags: ['catalog'],
        summary: 'List available integrations',
        querystring: catalogQuery,
        response: { 200: integrationListResponse, 304: z.null() },
      },
    }, async (request, reply) => {
      const key = `${request.query.role ?? ''}|${request.query.category ?? ''}`;
      return send(request, reply, lists(key, () => ({ integrations: deps.catalog.list(request.query) })));
    });

    r.get('/integrations/:slug', {
      schema: {
        tags: ['catalog'],
        summary: 'Get integration details',
        params: z.object({ slug: z.string().min(1).max(64) }),
        response: { 200: integrationResponse, 304: z.null() },
      },
    }, async (request, reply) => {
      // An unknown slug throws here (404) and is never remembered.
      return send(request, reply, items(request.params.slug, () => ({ integration: deps.catalog.get(request.params.slug) })));
    });
  };
}
