// Prometheus metrics: one registry per hub instance, so tests can build many apps in one process.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  rateLimited: Counter<'bucket'>;
  authFailures: Counter<'reason'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'hub_' });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'hub_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status'],
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
  };
}
