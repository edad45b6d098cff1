// The Redis key-value store: shared fast state for any number of hub instances (ioredis 6, Redis ≥ 7.0).
// Atomicity comes from single commands (GETDEL, SET NX PX) or Lua scripts, never from read-then-write in Node.
import type { Redis } from 'ioredis';
import { HISTORY_ID, type KeyValueStore } from './kv.js';
import { createRedisNearReader, type RedisNearReader } from './redis-near-cache.js';
import { createRedisSubscriber } from './redis-pubsub.js';
import { extendLock, incrWithTtl, publishWithHistory, releaseLock, runScript } from './redis-scripts.js';
import { reportToStderr, type KvErrorHandler } from './subscriber-errors.js';
import { checkPrefix, checkTtlMs, checkUnder } from './ttl.js';

export interface RedisKeyValueStoreOptions {
  /** Prepended to every key AND channel: isolates tenants, environments and test files on one server. */
  keyPrefix?: string;
  /** Receives subscriber-connection errors and errors thrown by handlers; default: stderr. */
  onError?: KvErrorHandler;
}

/** Keys per SCAN step and per UNLINK batch: large enough to be quick, small enough never to block Redis. */
const SCAN_BATCH = 500;

/** SCAN MATCH treats * ? [ ] and \ as glob syntax; escaped, the prefix matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Builds the store on a client it then owns: `close()` quits it (and the subscriber connection).
 * The client must not carry ioredis' own `keyPrefix` option: SCAN answers full key names, which UNLINK
 * would then prefix a second time.
 */
export function createRedisKeyValueStore(client: Redis, options: RedisKeyValueStoreOptions = {}): KeyValueStore {
  if (client.options.keyPrefix) {
    throw new Error('createRedisKeyValueStore: pass keyPrefix to the store, not to the ioredis client');
  }
  const prefix = options.keyPrefix ?? '';
  const pubsub = createRedisSubscriber(client, options.onError ?? reportToStderr);
  const k = (key: string) => prefix + key;
  const nearReaders: RedisNearReader[] = [];
  let closing: Promise<void> | undefined;

  async function unlinkMatching(fullPrefix: string): Promise<number> {
    const pattern = `${escapeGlob(fullPrefix)}*`;
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
      cursor = next;
      // SCAN may return a key twice; UNLINK counts only keys that existed, so the total stays exact.
      if (keys.length > 0) removed += await client.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  }

  return {
    kind: 'redis',

    async get(key) {
      return client.get(k(key));
    },

    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await client.set(k(key), value);
      else await client.set(k(key), value, 'PX', checkTtlMs(ttlMs));
    },

    async del(...keys) {
      // UNLINK: same answer as DEL, but a large cached value is freed off Redis' main thread.
      return keys.length === 0 ? 0 : client.unlink(...keys.map(k));
    },

    async delByPrefix(keysPrefix) {
      return unlinkMatching(k(checkPrefix(keysPrefix)));
    },

    async take(key) {
      return client.getdel(k(key));
    },

    async acquire(key, owner, ttlMs) {
      return (await client.set(k(key), owner, 'PX', checkTtlMs(ttlMs), 'NX')) === 'OK';
    },

    async extend(key, owner, ttlMs) {
      return (await runScript(client, extendLock, [k(key)], [owner, checkTtlMs(ttlMs)])) === 1;
    },

    async release(key, owner) {
      return (await runScript(client, releaseLock, [k(key)], [owner])) === 1;
    },

    async incr(key, ttlMs) {
      return Number(await runScript(client, incrWithTtl, [k(key)], [checkTtlMs(ttlMs)]));
    },

    async ttl(key) {
      return client.pttl(k(key));
    },

    async publish(channel, message) {
      await client.publish(k(channel), message);
    },

    async subscribe(channel, handler) {
      return pubsub.subscribe(k(channel), handler);
    },

    async publishWithHistory(channel, historyKey, message, options) {
      const ttl = checkTtlMs(options.historyMs);
      const oldest = `${Math.max(0, Date.now() - ttl)}-0`;
      return String(await runScript(client, publishWithHistory, [k(historyKey)], [k(channel), message, oldest, options.maxLength, ttl]));
    },

    async readHistory(historyKey, afterId, limit) {
      if (!HISTORY_ID.test(afterId)) return [];
      const entries = await client.xrange(k(historyKey), `(${afterId}`, '+', 'COUNT', limit);
      return entries.map(([id, fields]) => ({ id, message: fields[1] ?? '' }));
    },

    nearReader(readerPrefix, readerOptions) {
      const reader = createRedisNearReader(client, k(checkPrefix(readerPrefix)), options.onError ?? reportToStderr, readerOptions);
      nearReaders.push(reader);
      return {
        get: async (key) => reader.get(k(checkUnder(readerPrefix, key))),
        peek: (key) => reader.peek(k(checkUnder(readerPrefix, key))),
        forget: (key) => reader.forget(k(key)),
        stats: () => reader.stats(),
      };
    },

    async ping() {
      await client.ping();
    },

    close() {
      closing ??= (async () => {
        await pubsub.close();
        await Promise.all(nearReaders.map((r) => r.close()));
        try {
          await client.quit();
        } catch {
          // Already closed or never connected: nothing left to say goodbye to.
          client.disconnect();
        }
      })();
      return closing;
    },
  };
}
