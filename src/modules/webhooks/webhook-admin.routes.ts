// Operator routes for the webhook inbox (`hub:admin` tokens only): list and inspect events, replay a failed one.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WEBHOOK_EVENT_STATUSES, type WebhookEventRow } from '../../db/schema.js';
import type { Deps } from '../../deps.js';
import { AppError } from '../../errors.js';

const eventSummary = z
  .object({
    id: z.string(),
    connector: z.string(),
    deliveryId: z.string(),
    eventType: z.string(),
    status: z.enum(WEBHOOK_EVENT_STATUSES),
    attempts: z.number(),
    error: z.string().nullable(),
    connectionId: z.string().nullable(),
    matchedConnectionIds: z.array(z.string()),
    receivedAt: z.string(),
    processedAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
  })
  .meta({ id: 'WebhookEvent' });

const eventDetail = eventSummary.extend({ headers: z.record(z.string(), z.string()), payload: z.unknown() }).meta({ id: 'WebhookEventDetail' });

function summary(row: WebhookEventRow) {
  return {
    id: row.id,
    connector: row.connector,
    deliveryId: row.deliveryId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    error: row.error,
    connectionId: row.connectionId,
    matchedConnectionIds: row.matchedConnectionIds,
    receivedAt: row.receivedAt.toISOString(),
    processedAt: row.processedAt?.toISOString() ?? null,
    nextAttemptAt: row.status === 'received' ? row.nextAttemptAt.toISOString() : null,
  };
}

const eventParams = z.object({ eventId: z.string().regex(/^whe_[0-9a-z]{26}$/, 'a webhook event id (whe_…)') });

export function webhookAdminRoutes(deps: Pick<Deps, 'auth' | 'webhookEventRepo' | 'webhookProcessor'>) {
  return async function register(app: FastifyInstance) {
    app.addHook('onRequest', async (request) => {
      const principal = await deps.auth.authenticate(request.headers.authorization);
      if (!principal.admin) throw new AppError('forbidden', 'This route needs a token with the hub:admin scope.');
      request.principal = principal;
    });
    const r = app.withTypeProvider<ZodTypeProvider>();
    const security = [{ bearer: [] }];

    r.get('/admin/webhook-events', {
      schema: {
        tags: ['admin'],
        summary: 'Webhook events, newest first (filter by status and connector; page with `before`)',
        security,
        querystring: z.object({
          status: z.enum(WEBHOOK_EVENT_STATUSES).optional(),
          connector: z.string().min(1).max(64).optional(),
          before: z.string().max(64).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ events: z.array(eventSummary) }) },
      },
    }, async (request) => ({ events: (await deps.webhookEventRepo.list(request.query)).map(summary) }));

    r.get('/admin/webhook-events/:eventId', {
      schema: { tags: ['admin'], summary: 'One webhook event with its payload and kept headers', security, params: eventParams, response: { 200: z.object({ event: eventDetail }) } },
    }, async (request) => {
      const row = await deps.webhookEventRepo.findById(request.params.eventId);
      if (!row) throw new AppError('webhook_event_not_found', `No webhook event ${request.params.eventId}.`);
      return { event: { ...summary(row), headers: row.headers, payload: row.payload } };
    });

    r.post('/admin/webhook-events/:eventId/replay', {
      schema: { tags: ['admin'], summary: 'Process a stored webhook event again (fresh attempts)', security, params: eventParams, response: { 202: z.object({ event: eventSummary }) } },
    }, async (request, reply) => {
      const row = await deps.webhookEventRepo.replay(request.params.eventId);
      if (!row) throw new AppError('webhook_event_not_found', `No webhook event ${request.params.eventId}.`);
      deps.webhookProcessor.wake();
      return reply.code(202).send({ event: summary(row) });
    });
  };
}
