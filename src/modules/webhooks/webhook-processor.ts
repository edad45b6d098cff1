// The webhook worker: claims due inbox events in batches (SKIP LOCKED: instances split the work, a lease hides an
// event while it is processed), processes them with bounded concurrency, and retries failures with backoff until
// the attempts run out. Woken at once when a delivery is stored; polls as well, so nothing waits on a lost wake-up.
import { ExponentialBackoff } from 'cockatiel';
import { AppError } from '../../errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Metrics } from '../../lib/metrics.js';
import type { ClaimedEvent, WebhookEventRepo } from './webhook-event.repo.js';
import type { WebhookProcessing } from './webhook-processing.service.js';

export interface WebhookProcessorOptions {
  maxAttempts: number;
  batchSize?: number;
  concurrency?: number;
  /** How long a claimed event is hidden from other workers; a worker that dies frees it after this. */
  leaseSeconds?: number;
  pollIntervalMs?: number;
}

const RETRY_MIN_DELAY_MS = 2_000;
const RETRY_BACKOFF = new ExponentialBackoff({ initialDelay: RETRY_MIN_DELAY_MS, maxDelay: 15 * 60_000 });

/**
 * Delay before attempt `attempt + 1`: decorrelated jitter, never under 2 s (the jitter's first draw can be close to
 * zero, which would retry a failing provider at once).
 */
export function webhookRetryDelayMs(attempt: number): number {
  let backoff = RETRY_BACKOFF.next();
  for (let i = 1; i < Math.min(attempt, 20); i++) backoff = backoff.next(undefined);
  return Math.max(RETRY_MIN_DELAY_MS, backoff.duration);
}

export function createWebhookProcessor(
  deps: {
    events: Pick<WebhookEventRepo, 'claimDue' | 'claimById' | 'finish' | 'finishMany' | 'retryLater'>;
    processing: Pick<WebhookProcessing, 'process' | 'triage'>;
    metrics: Metrics;
    logger: Logger;
  },
  options: WebhookProcessorOptions,
) {
  const batchSize = options.batchSize ?? 50;
  const concurrency = options.concurrency ?? 8;
  const leaseSeconds = options.leaseSeconds ?? 120;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  let stopped = true;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  async function handle(event: ClaimedEvent): Promise<void> {
    const labels = { connector: event.connector };
    try {
      const outcome = await deps.processing.process(event);
      if (await deps.events.finish(event.id, event.attempts, { ...outcome, error: null })) {
        deps.metrics.webhookEvents.inc({ ...labels, status: outcome.status });
        deps.metrics.webhookProcessingDelay.observe(labels, (Date.now() - event.receivedAt.getTime()) / 1000);
      }
    } catch (error) {
      const message = error instanceof AppError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
      if (event.attempts >= options.maxAttempts) {
        await deps.events.finish(event.id, event.attempts, { status: 'failed', matchedConnectionIds: [], error: message.slice(0, 500) });
        deps.metrics.webhookEvents.inc({ ...labels, status: 'failed' });
        deps.logger.error({ webhookEventId: event.id, slug: event.connector, attempts: event.attempts, err: message }, 'webhook event failed for good');
      } else {
        await deps.events.retryLater(event.id, event.attempts, message.slice(0, 500), new Date(Date.now() + webhookRetryDelayMs(event.attempts)));
        deps.metrics.webhookEvents.inc({ ...labels, status: 'retried' });
        deps.logger.warn({ webhookEventId: event.id, slug: event.connector, attempts: event.attempts, err: message }, 'webhook event will be retried');
      }
    }
  }

  /**
   * Most events need nothing but routing (nobody holds them, or they change nothing shown): those are routed
   * and recorded for the whole batch in two statements. The rest are processed one by one. Returns the rest.
   */
  async function settle(batch: ClaimedEvent[]): Promise<ClaimedEvent[]> {
    try {
      const { settled, needsWork } = await deps.processing.triage(batch);
      const written = await deps.events.finishMany(settled.map((o) => ({ id: o.event.id, attempt: o.event.attempts, status: o.status, matchedConnectionIds: o.matchedConnectionIds })));
      for (const o of settled) {
        if (!written.has(o.event.id)) continue; // taken over by another worker after our lease ran out
        deps.metrics.webhookEvents.inc({ connector: o.event.connector, status: o.status });
        deps.metrics.webhookProcessingDelay.observe({ connector: o.event.connector }, (Date.now() - o.event.receivedAt.getTime()) / 1000);
      }
      return needsWork;
    } catch (err) {
      // Nothing was recorded: every event takes the one-by-one path, with its retries.
      deps.logger.warn({ err }, 'batch routing of webhook events failed; processing them one by one');
      return batch;
    }
  }

  /** Claims and processes batches until none is due. Returns how many events it took. */
  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const claimed = await deps.events.claimDue(batchSize, leaseSeconds);
      total += claimed.length;
      const batch = claimed.length ? await settle(claimed) : claimed;
      let next = 0;
      const worker = async () => {
        while (next < batch.length) {
          const event = batch[next++]!;
          try {
            await handle(event);
          } catch (err) {
            // Recording the outcome failed (database away): the lease runs out and the event comes back.
            deps.logger.error({ err, webhookEventId: event.id }, 'could not record a webhook outcome');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
      if (claimed.length < batchSize || stopped) return total;
    }
  }

  function sleep(): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, pollIntervalMs);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function run(): Promise<void> {
    while (!stopped) {
      try {
        await drain();
      } catch (err) {
        deps.logger.error({ err }, 'webhook worker could not claim events');
      }
      if (!stopped) await sleep();
    }
  }

  return {
    drain,
    /** Processes one event now if it is due; false when it is not (processed, failed, or leased elsewhere). */
    async processOne(id: string): Promise<boolean> {
      const event = await deps.events.claimById(id, leaseSeconds);
      if (!event) return false;
      await handle(event);
      return true;
    },
    start() {
      if (!stopped) return;
      stopped = false;
      loop = run();
    },
    /** Takes due events now rather than at the next poll. */
    wake() {
      if (wakeUp) wakeUp();
      else woken = true;
    },
    /** Stops claiming and waits for the events in hand. */
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
    },
  };
}

export type WebhookProcessor = ReturnType<typeof createWebhookProcessor>;
