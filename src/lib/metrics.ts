// Prometheus metrics: one registry per hub instance, so tests can build many apps in one process.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createRouteDurations, type RouteDurations } from './route-durations.js';

export interface Metrics {
  registry: Registry;
  /** hub_http_request_duration_seconds{method, route, status}: a recorder per route (see route-durations.ts). */
  httpRequestDuration: RouteDurations;
  rateLimited: Counter<'bucket'>;
  authFailures: Counter<'reason'>;
  webhookDeliveries: Counter<'connector' | 'outcome'>;
  webhookRejections: Counter<'connector' | 'reason'>;
  webhookEvents: Counter<'connector' | 'status'>;
  webhookProcessingDelay: Histogram<'connector'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'hub_' });
  return {
    registry,
    httpRequestDuration: createRouteDurations({
      name: 'hub_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'hub_http_rate_limited_total',
      help: 'Requests rejected by the inbound rate limiter',
      labelNames: ['bucket'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'hub_auth_failures_total',
      help: 'Rejected workspace API calls by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'hub_webhook_deliveries_total',
      help: 'Inbound webhook requests by outcome: accepted, duplicate, rejected, handshake, not_configured',
      labelNames: ['connector', 'outcome'],
      registers: [registry],
    }),
    webhookRejections: new Counter({
      name: 'hub_webhook_rejections_total',
      help: 'Webhook requests that failed verification, by reason',
      labelNames: ['connector', 'reason'],
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'hub_webhook_events_total',
      help: 'Stored webhook events by processing outcome: processed, unmatched, retried, failed',
      labelNames: ['connector', 'status'],
      registers: [registry],
    }),
    webhookProcessingDelay: new Histogram({
      name: 'hub_webhook_processing_delay_seconds',
      help: 'Time from receiving a webhook event to having processed it',
      labelNames: ['connector'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}
