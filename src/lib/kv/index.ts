// Chooses the key-value store: Redis when a URL is configured (many instances), in-memory otherwise (one process).
import type { Redis } from 'ioredis';
import type { KeyValueStore } from './kv.js';
import { createMemoryKeyValueStore } from './memory.kv.js';
import { createRedisClient } from './redis-client.js';
import { createRedisKeyValueStore } from './redis.kv.js';
import type { KvErrorHandler } from './subscriber-errors.js';

export type { KeyValueStore, Unsubscribe } from './kv.js';
export type { KvErrorHandler } from './subscriber-errors.js';

export interface KeyValueStoreOptions {
  redisUrl?: string;
  /** Redis only: prepended to every key and channel. The in-memory store is private to its process already. */
  keyPrefix?: string;
  /** Redis connection errors and pub/sub handler errors (log them); default: stderr. */
  onError?: KvErrorHandler;
}

/**
 * The store, plus the raw ioredis client when there is one (rate-limiter-flexible needs it). The store owns
 * that client: `kv.close()` quits it, so close the store after everything else that uses the client.
 */
export function createKeyValueStore(opts: KeyValueStoreOptions): { kv: KeyValueStore; redis?: Redis } {
  if (!opts.redisUrl) return { kv: createMemoryKeyValueStore({ onError: opts.onError }) };
  const redis = createRedisClient(opts.redisUrl, { onError: opts.onError });
  return { kv: createRedisKeyValueStore(redis, { keyPrefix: opts.keyPrefix, onError: opts.onError }), redis };
}
