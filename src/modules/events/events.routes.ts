// GET /workspaces/:workspaceId/events: the workspace's live events as Server-Sent Events, with heartbeats and
// Last-Event-ID resume. Streams end when the hub shuts down (clients reconnect to another instance).
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../deps.js';
import { workspaceParams } from '../connections/connection.schemas.js';
import type { DeliveredEvent } from './live-events.service.js';

/** How long a client waits before reconnecting after the stream drops. */
const RETRY_MS = 3_000;

function frame({ id, event }: DeliveredEvent): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

export function eventsRoutes(deps: Pick<Deps, 'liveEvents' | 'config'>) {
  return async function register(app: FastifyInstance) {
    const open = new Set<() => void>();
    // app.close() waits for in-flight requests; a stream never finishes by itself, so end them first.
    app.addHook('preClose', async () => {
      for (const end of [...open]) end();
    });

    app.withTypeProvider<ZodTypeProvider>().get('/events', {
      schema: {
        tags: ['events'],
        summary: 'Live events (Server-Sent Events): widget.updated, connection.updated; resumable with Last-Event-ID',
        security: [{ bearer: [] }],
        params: workspaceParams,
        headers: z.looseObject({ 'last-event-id': z.string().max(64).optional() }),
        response: { 200: { description: 'A stream of events', content: { 'text/event-stream': { schema: z.string() } } } },
      },
    }, async (request, reply) => {
      const { workspaceId } = request.params;
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, {
        // What the hooks set (security and rate-limit headers), then the stream's own.
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // Proxies such as nginx must pass events through as they come.
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      res.write(`retry: ${RETRY_MS}\n\n`);

      let closed = false;
      let unsubscribe: (() => Promise<void>) | undefined;
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.config.eventsHeartbeatSeconds * 1000);
      const end = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        open.delete(end);
        void unsubscribe?.().catch(() => undefined);
        res.end();
      };
      open.add(end);
      res.on('close', end);

      try {
        const lastEventId = request.headers['last-event-id'];
        unsubscribe = await deps.liveEvents.open(workspaceId, typeof lastEventId === 'string' ? lastEventId : undefined, (e) => {
          if (!closed) res.write(frame(e));
        });
        // The client went away while the subscription was being made.
        if (closed) await unsubscribe();
      } catch (err) {
        request.log.warn({ err }, 'live events stream failed');
        end();
      }
    });
  };
}
