// SQL for the webhook inbox: store once per delivery id, claim due events (SKIP LOCKED, with a lease), record
// outcomes, replay. The rows are the queue: an event stored before the 2xx is processed even if the process dies.
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { webhookEvents, type NewWebhookEventRow, type WebhookEventRow, type WebhookEventStatus } from '../../db/schema.js';

export type NewInboxEvent = Omit<NewWebhookEventRow, 'status' | 'attempts' | 'nextAttemptAt' | 'processedAt' | 'error'>;

/** What a worker needs of a claimed event (not its kept headers: less to read back for every event). */
export type ClaimedEvent = Pick<WebhookEventRow, 'id' | 'connector' | 'eventType' | 'routingKeys' | 'connectionId' | 'payload' | 'attempts' | 'receivedAt'>;

const claimedColumns = {
  id: webhookEvents.id,
  connector: webhookEvents.connector,
  eventType: webhookEvents.eventType,
  routingKeys: webhookEvents.routingKeys,
  connectionId: webhookEvents.connectionId,
  payload: webhookEvents.payload,
  attempts: webhookEvents.attempts,
  receivedAt: webhookEvents.receivedAt,
};

export function createWebhookEventRepo(db: Db) {
  // The hot path: most deliveries hold one event. Prepared once (and, on PostgreSQL, parsed once per connection).
  const p = (name: string) => sql.placeholder(name);
  const insertOne = db
    .insert(webhookEvents)
    .values({
      id: p('id'), connector: p('connector'), deliveryId: p('deliveryId'), eventType: p('eventType'), routingKeys: p('routingKeys'),
      connectionId: p('connectionId'), headers: p('headers'), payload: p('payload'), receivedAt: p('receivedAt'),
    })
    .onConflictDoNothing({ target: [webhookEvents.connector, webhookEvents.deliveryId] })
    .returning({ id: webhookEvents.id })
    .prepare('webhook_event_insert');

  return {
    /** Inserts the events of one delivery in one statement; answers the ids of the ones that were new. */
    async insertNew(events: NewInboxEvent[]): Promise<string[]> {
      if (events.length === 0) return [];
      if (events.length === 1) {
        const e = events[0]!;
        const rows = await insertOne.execute({ ...e, eventType: e.eventType ?? '', routingKeys: e.routingKeys ?? [], connectionId: e.connectionId ?? null, headers: e.headers ?? {}, payload: e.payload ?? null });
        return rows.map((r) => r.id);
      }
      // Many events (a batch of deliveries, or a delivery carrying several): one statement with one JSON parameter,
      // read back as rows (as finishMany), whatever the count.
      const json = JSON.stringify(
        events.map((e) => ({
          id: e.id, connector: e.connector, delivery_id: e.deliveryId, event_type: e.eventType ?? '', routing_keys: e.routingKeys ?? [],
          connection_id: e.connectionId ?? null, headers: e.headers ?? {}, payload: e.payload ?? null, received_at: e.receivedAt ?? new Date(),
        })),
      );
      const rows = await db.execute(sql`
        INSERT INTO webhook_events (id, connector, delivery_id, event_type, routing_keys, connection_id, headers, payload, received_at)
        SELECT v.id, v.connector, v.delivery_id, v.event_type, v.routing_keys, v.connection_id, v.headers, v.payload, v.received_at
          FROM jsonb_to_recordset(${json}::jsonb)
            AS v(id text, connector text, delivery_id text, event_type text, routing_keys text[], connection_id text, headers jsonb, payload jsonb, received_at timestamptz)
        ON CONFLICT (connector, delivery_id) DO NOTHING
        RETURNING id`);
      return (rows as unknown as { rows: { id: string }[] }).rows.map((r) => r.id);
    },

    /**
     * Claims up to `limit` due events: counts the attempt and hides them from other workers for the lease.
     * A worker that dies mid-event leaves it to be claimed again when the lease runs out.
     */
    async claimDue(limit: number, leaseSeconds: number): Promise<ClaimedEvent[]> {
      const due = db
        .select({ id: webhookEvents.id })
        .from(webhookEvents)
        .where(and(eq(webhookEvents.status, 'received'), sql`${webhookEvents.nextAttemptAt} <= now()`))
        .orderBy(webhookEvents.nextAttemptAt)
        .limit(limit)
        .for('update', { skipLocked: true });
      return db
        .update(webhookEvents)
        .set({ attempts: sql`${webhookEvents.attempts} + 1`, nextAttemptAt: sql`now() + make_interval(secs => ${leaseSeconds})` })
        .where(inArray(webhookEvents.id, due))
        .returning(claimedColumns);
    },

    /** Claims one event if it is due (an operator's replay, a test); undefined when it is not. */
    async claimById(id: string, leaseSeconds: number): Promise<ClaimedEvent | undefined> {
      const rows = await db
        .update(webhookEvents)
        .set({ attempts: sql`${webhookEvents.attempts} + 1`, nextAttemptAt: sql`now() + make_interval(secs => ${leaseSeconds})` })
        .where(and(eq(webhookEvents.id, id), eq(webhookEvents.status, 'received'), sql`${webhookEvents.nextAttemptAt} <= now()`))
        .returning(claimedColumns);
      return rows[0];
    },

    /** Final outcome of a claimed attempt. Only an attempt still holding the event (same attempt count) writes. */
    async finish(id: string, attempt: number, outcome: { status: Exclude<WebhookEventStatus, 'received'>; matchedConnectionIds: string[]; error?: string | null }): Promise<boolean> {
      const rows = await db
        .update(webhookEvents)
        .set({ status: outcome.status, matchedConnectionIds: outcome.matchedConnectionIds, error: outcome.error ?? null, processedAt: new Date() })
        .where(and(eq(webhookEvents.id, id), eq(webhookEvents.attempts, attempt), eq(webhookEvents.status, 'received')))
        .returning({ id: webhookEvents.id });
      return rows.length > 0;
    },

    /**
     * Final outcomes of many claimed attempts in one statement (the events that needed nothing but routing).
     * As with `finish`, only an attempt still holding its event writes. Answers the ids written.
     */
    async finishMany(outcomes: { id: string; attempt: number; status: 'processed' | 'unmatched'; matchedConnectionIds: string[] }[]): Promise<Set<string>> {
      if (outcomes.length === 0) return new Set();
      // One JSON parameter, read back as rows: the same on node-postgres and PGlite (whose serializer would
      // choke on array parameters), and one statement however large the batch.
      const json = JSON.stringify(outcomes.map((o) => ({ id: o.id, attempts: o.attempt, status: o.status, matched: o.matchedConnectionIds })));
      const rows = await db.execute(sql`
        UPDATE webhook_events AS e
           SET status = v.status,
               matched_connection_ids = ARRAY(SELECT jsonb_array_elements_text(v.matched)),
               error = NULL,
               processed_at = now()
          FROM jsonb_to_recordset(${json}::jsonb) AS v(id text, attempts int, status text, matched jsonb)
         WHERE e.id = v.id AND e.attempts = v.attempts AND e.status = 'received'
        RETURNING e.id`);
      return new Set((rows as unknown as { rows: { id: string }[] }).rows.map((r) => r.id));
    },

    /** A failed attempt that will be tried again at `nextAttemptAt`. */
    async retryLater(id: string, attempt: number, error: string, nextAttemptAt: Date): Promise<void> {
      await db
        .update(webhookEvents)
        .set({ error, nextAttemptAt })
        .where(and(eq(webhookEvents.id, id), eq(webhookEvents.attempts, attempt), eq(webhookEvents.status, 'received')));
    },

    /** Puts an event back in the queue with fresh attempts; undefined when there is no such event. */
    async replay(id: string): Promise<WebhookEventRow | undefined> {
      const rows = await db
        .update(webhookEvents)
        .set({ status: 'received', attempts: 0, error: null, processedAt: null, nextAttemptAt: sql`now()` })
        .where(eq(webhookEvents.id, id))
        .returning();
      return rows[0];
    },

    async findById(id: string): Promise<WebhookEventRow | undefined> {
      const rows = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id)).limit(1);
      return rows[0];
    },

    /** Newest first, optionally by status and connector; `before` is the last id of the previous page. */
    async list(filter: { status?: WebhookEventStatus; connector?: string; before?: string; limit: number }): Promise<WebhookEventRow[]> {
      const conditions = [
        filter.status ? eq(webhookEvents.status, filter.status) : undefined,
        filter.connector ? eq(webhookEvents.connector, filter.connector) : undefined,
        filter.before ? lt(webhookEvents.id, filter.before) : undefined,
      ].filter((c) => c !== undefined);
      return db
        .select()
        .from(webhookEvents)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(desc(webhookEvents.id))
        .limit(filter.limit);
    },

    /** How many events of a connector are in each status (metrics, tests). */
    async countByStatus(connector: string): Promise<Partial<Record<WebhookEventStatus, number>>> {
      const rows = await db
        .select({ status: webhookEvents.status, n: sql<number>`count(*)::int` })
        .from(webhookEvents)
        .where(eq(webhookEvents.connector, connector))
        .groupBy(webhookEvents.status);
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}

export type WebhookEventRepo = ReturnType<typeof createWebhookEventRepo>;
