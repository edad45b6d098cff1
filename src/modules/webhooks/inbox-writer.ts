// Group commit for the webhook inbox. Every delivery is stored before its 2xx; at a few thousand deliveries a
// second, one INSERT (one transaction, one WAL flush) per delivery makes the database's commit latency everyone's
// p99. Here, deliveries that arrive while `maxInFlight` inserts are running wait and go together in the next one;
// each caller still gets exactly its own new ids, and only once its rows are committed. At low load nothing waits:
// a delivery is inserted alone, at once.
import type { NewInboxEvent, WebhookEventRepo } from './webhook-event.repo.js';

interface Pending {
  events: NewInboxEvent[];
  resolve: (ids: string[]) => void;
  reject: (error: unknown) => void;
}

export interface InboxWriterOptions {
  /** Inserts running at once (each holds one pooled connection); default 4. */
  maxInFlight?: number;
  /** Events per insert at most; a delivery's events are never split; default 500. */
  maxBatchEvents?: number;
}

export function createInboxWriter(repo: Pick<WebhookEventRepo, 'insertNew'>, options: InboxWriterOptions = {}): Pick<WebhookEventRepo, 'insertNew'> {
  const maxInFlight = options.maxInFlight ?? 4;
  const maxBatchEvents = options.maxBatchEvents ?? 500;
  const queue: Pending[] = [];
  let inFlight = 0;

  function nextBatch(): Pending[] {
    const batch: Pending[] = [queue.shift()!];
    let size = batch[0]!.events.length;
    while (queue.length > 0 && size + queue[0]!.events.length <= maxBatchEvents) {
      const next = queue.shift()!;
      size += next.events.length;
      batch.push(next);
    }
    return batch;
  }

  async function store(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0]!;
      await repo.insertNew(only.events).then(only.resolve, only.reject);
      return;
    }
    let stored: Set<string>;
    try {
      stored = new Set(await repo.insertNew(batch.flatMap((p) => p.events)));
    } catch {
      // One delivery the database refuses (its connection deleted meanwhile) must not fail the others: each
      // delivery again on its own, with its own outcome.
      await Promise.all(batch.map((p) => repo.insertNew(p.events).then(p.resolve, p.reject)));
      return;
    }
    for (const p of batch) p.resolve(p.events.filter((e) => stored.has(e.id)).map((e) => e.id));
  }

  function pump(): void {
    while (inFlight < maxInFlight && queue.length > 0) {
      inFlight++;
      void store(nextBatch()).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    insertNew(events) {
      if (events.length === 0) return Promise.resolve([]);
      return new Promise<string[]>((resolve, reject) => {
        queue.push({ events, resolve, reject });
        pump();
      });
    },
  };
}
