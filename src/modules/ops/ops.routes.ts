// Operator routes: liveness, readiness (database and key-value store reachable) and Prometheus metrics.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';

const READY_TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<void>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

const readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({ database: z.enum(['ok', 'unavailable']), kv: z.enum(['ok', 'unavailable']) }),
});

export function opsRoutes(deps: Pick<Deps, 'database' | 'kv' | 'metrics'>) {
  return async function register(app: FastifyInstance) {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const ops = { rateLimit: false } as const;

    r.get('/healthz', {
      config: ops,
      schema: { tags: ['ops'], summary: 'The process is up', response: { 200: z.object({ status: z.literal('ok') }) } },
    }, async () => ({ status: 'ok' as const }));

    r.get('/readyz', {
      config: ops,
      schema: {
        tags: ['ops'],
        summary: 'The database and the key-value store answer',
        response: { 200: readiness, 503: readiness },
      },
    }, async (_request, reply) => {
      const [database, kv] = await Promise.all([check(() => deps.database.ping()), check(() => deps.kv.ping())]);
      const ready = database === 'ok' && kv === 'ok';
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { database, kv } });
    });

    r.get('/metrics', {
      config: ops,
      schema: { tags: ['ops'], summary: 'Prometheus metrics', produces: ['text/plain'] },
    }, async (_request, reply) => {
      const body = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).serializer((x) => x as string).send(body);
    });
  };
}
