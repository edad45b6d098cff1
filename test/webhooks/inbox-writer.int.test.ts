// Group commit of the webhook inbox: deliveries that arrive while an insert runs are stored together in the next
// one, and each caller learns exactly which of its own events were new, only after they are committed.
import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookEvents } from '../../src/db/schema.js';
import { newId } from '../../src/lib/ids.js';
import { createInboxWriter } from '../../src/modules/webhooks/inbox-writer.js';
import { createWebhookEventRepo, type NewInboxEvent, type WebhookEventRepo } from '../../src/modules/webhooks/webhook-event.repo.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createScratchDatabase } from '../support/database.js';

let t: TestApp;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let repo: WebhookEventRepo;

beforeAll(async () => {
  // Rows written here are never processed: a database of its own, away from other files' workers.
  scratch = await createScratchDatabase('inbox_writer');
  t = await buildTestApp(scratch ? { DATABASE_URL: scratch.url } : {});
  await t.app.ready();
  repo = createWebhookEventRepo(t.deps.database.db);
});
afterAll(async () => {
  await t.close();
  await scratch?.drop();
});

function event(deliveryId: string, extra: Partial<NewInboxEvent> = {}): NewInboxEvent {
  return {
    id: newId('webhookEvent'), connector: 'github', deliveryId, eventType: 'push', routingKeys: ['installation:1'],
    connectionId: null, headers: { 'x-github-event': 'push' }, payload: { n: deliveryId }, receivedAt: new Date(), ...extra,
  };
}

/** The real repository, with its statements counted (every call goes through to the database). */
function counted() {
  const calls: number[] = [];
  return { calls, repo: { insertNew: (events: NewInboxEvent[]) => (calls.push(events.length), repo.insertNew(events)) } };
}

async function storedRows(deliveryIds: string[]) {
  return t.deps.database.db.select().from(webhookEvents).where(inArray(webhookEvents.deliveryId, deliveryIds));
}

describe('inbox writer', () => {
  it('stores 200 concurrent deliveries in fewer statements, each caller getting its own new id', async () => {
    const c = counted();
    const writer = createInboxWriter(c.repo, { maxInFlight: 1 });
    const events = Array.from({ length: 200 }, () => event(randomUUID()));
    const answers = await Promise.all(events.map((e) => writer.insertNew([e])));
    expect(answers).toEqual(events.map((e) => [e.id]));
    expect(c.calls.reduce((a, b) => a + b, 0)).toBe(200);
    expect(c.calls.length).toBeLessThan(200);
    expect(Math.max(...c.calls)).toBeGreaterThan(1);
    const rows = await storedRows(events.map((e) => e.deliveryId));
    expect(rows).toHaveLength(200);
    const one = rows.find((r) => r.id === events[7]!.id)!;
    expect(one).toMatchObject({ connector: 'github', eventType: 'push', routingKeys: ['installation:1'], headers: { 'x-github-event': 'push' }, payload: { n: events[7]!.deliveryId }, status: 'received' });
    expect(one.receivedAt.getTime()).toBe(events[7]!.receivedAt!.getTime());
  });

  it('stores one of many concurrent copies of a delivery, in one batch or across batches; the others learn it was a duplicate', async () => {
    const writer = createInboxWriter(repo, { maxInFlight: 2 });
    const deliveryId = randomUUID();
    const answers = await Promise.all(Array.from({ length: 50 }, () => writer.insertNew([event(deliveryId)])));
    expect(answers.filter((ids) => ids.length === 1)).toHaveLength(1);
    expect(answers.filter((ids) => ids.length === 0)).toHaveLength(49);
    expect(await storedRows([deliveryId])).toHaveLength(1);
  });

  it('keeps a delivery the database refuses from failing the others stored with it', async () => {
    const writer = createInboxWriter(repo, { maxInFlight: 1 });
    const good = Array.from({ length: 20 }, () => event(randomUUID()));
    // A connection that does not exist (deleted meanwhile): the foreign key refuses the row.
    const bad = event(randomUUID(), { connectionId: `conn_${randomUUID()}` });
    const first = writer.insertNew([event(randomUUID())]); // holds the one slot, so the rest queue together
    const results = await Promise.allSettled([...good.slice(0, 10), bad, ...good.slice(10)].map((e) => writer.insertNew([e])));
    await first;
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const reason = (rejected[0] as PromiseRejectedResult).reason as { code?: string; cause?: { code?: string } };
    expect(reason.code ?? reason.cause?.code).toBe('23503');
    expect(await storedRows(good.map((e) => e.deliveryId))).toHaveLength(20);
    expect(await storedRows([bad.deliveryId])).toHaveLength(0);
  });

  it('never splits a delivery carrying several events, and bounds a batch by events', async () => {
    const c = counted();
    const writer = createInboxWriter(c.repo, { maxInFlight: 1, maxBatchEvents: 10 });
    const deliveries = Array.from({ length: 12 }, () => [event(randomUUID()), event(randomUUID()), event(randomUUID())]);
    const answers = await Promise.all(deliveries.map((d) => writer.insertNew(d)));
    expect(answers).toEqual(deliveries.map((d) => d.map((e) => e.id)));
    expect(c.calls.every((n) => n % 3 === 0 && n <= 10)).toBe(true);
    expect(await storedRows(deliveries.flat().map((e) => e.deliveryId))).toHaveLength(36);
  });
});
