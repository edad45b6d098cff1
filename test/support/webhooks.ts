// Helpers for webhook tests: deliver a request to the hub, read what the inbox made of it, wait for processing,
// and listen to a workspace's live events.
import { and, eq } from 'drizzle-orm';
import { webhookEvents, type WebhookEventRow } from '../../src/db/schema.js';
import type { TestApp } from './app.js';

export interface Delivery {
  body: string | Buffer;
  headers: Record<string, string>;
  /** Appended to /webhooks/<slug> (`/<integrationId>`, `?validationToken=…`). */
  path?: string;
}

export async function deliver(t: TestApp, slug: string, delivery: Delivery) {
  return t.app.inject({
    method: 'POST',
    url: `/webhooks/${slug}${delivery.path ?? ''}`,
    headers: delivery.headers,
    payload: delivery.body,
  });
}

export async function inboxEvents(t: TestApp, connector: string, deliveryId?: string): Promise<WebhookEventRow[]> {
  return t.deps.database.db
    .select()
    .from(webhookEvents)
    .where(deliveryId === undefined ? eq(webhookEvents.connector, connector) : and(eq(webhookEvents.connector, connector), eq(webhookEvents.deliveryId, deliveryId)));
}

/** Waits until the widget reads made so far are recorded (a read records itself off its own path). */
export async function readsRecorded(t: TestApp): Promise<void> {
  await t.deps.sync.flushReads();
}

/** Polls until the condition holds; generous bounds, because CI machines are slow and shared. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Processes one stored event now, in this test's app, and returns it as it ends up. Only this event is claimed:
 * test files share the PostgreSQL database, and a broad drain would take (and misroute) other files' events.
 */
export async function processNow(t: TestApp, connector: string, deliveryId: string): Promise<WebhookEventRow> {
  const [before] = await inboxEvents(t, connector, deliveryId);
  if (!before) throw new Error(`no inbox event ${connector}/${deliveryId}`);
  await t.deps.webhookProcessor.processOne(before.id);
  const [row] = await inboxEvents(t, connector, deliveryId);
  return row!;
}

export async function metricValue(t: TestApp, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await t.deps.metrics.registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return match?.value ?? 0;
}

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** Opens GET /workspaces/:id/events over real HTTP and collects the events until closed. */
export async function openEventStream(baseUrl: string, workspaceId: string, token: string, lastEventId?: string) {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/workspaces/${workspaceId}/events`, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let buffer = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) event.data = line.slice(6);
          }
          if (event.event) events.push(event);
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    response,
    events,
    comments,
    async next(predicate: (e: SseEvent) => boolean, timeoutMs = 30_000): Promise<SseEvent> {
      return eventually(async () => events.find(predicate), timeoutMs, 'live event');
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}
