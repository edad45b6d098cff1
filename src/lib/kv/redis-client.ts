// The one way the hub opens a Redis connection: options that fail fast and reconnect politely.
import { Redis } from 'ioredis';
import type { KvErrorHandler } from './subscriber-errors.js';

/** Reconnect backoff: 100 ms doubling to a 3 s cap, with jitter so many instances do not reconnect in step. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), 3_000) + Math.floor(Math.random() * 100);
}

/**
 * A client for `redis://` or `rediss://` (TLS) URLs. It connects at once (lazyConnect false) and never stops
 * reconnecting, but a command fails after two reconnect attempts or 5 s instead of queueing forever: a request
 * should get an error it can handle (serve stale, fall back to the insurance limiter) rather than hang.
 * `onError` receives connection errors (each failed reconnect too); without it ioredis prints them to stderr.
 */
export function createRedisClient(url: string, options: { connectionName?: string; onError?: KvErrorHandler } = {}): Redis {
  const client = new Redis(url, {
    connectionName: options.connectionName ?? 'integration-hub',
    lazyConnect: false,
    connectTimeout: 5_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: reconnectDelayMs,
    // A managed Redis that failed over leaves us talking to a replica: reconnect and resend the write.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
  });
  if (options.onError) client.on('error', options.onError);
  return client;
}
