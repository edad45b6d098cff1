// Reads of one key prefix answered from process memory, kept coherent by Redis itself (server-assisted
// client-side caching): a connection of our own asks for tracking in broadcast mode on the prefix, redirected to
// itself over RESP2 pub/sub, so Redis announces every change of a key under it — a write, a delete, an expiry, a
// flush — from whichever client it came. Values are kept only while that announcement channel is up (any
// disconnect forgets everything until tracking is on again), never past the key's own expiry (Redis announces an
// expiry only when it deletes the key, lazily or in its sampling cycle), and never longer than `maxAgeMs`, so even a
// dead connection not yet noticed cannot serve an old value for long.
import type { Redis } from 'ioredis';
import type { NearReader, NearReaderOptions } from './kv.js';
import type { KvErrorHandler } from './subscriber-errors.js';

const INVALIDATE_CHANNEL = '__redis__:invalidate';
export const NEAR_DEFAULTS = { maxEntries: 10_000, maxAgeMs: 1_000 } as const;

interface Entry {
  value: string;
  /** Until when it may be answered (Date.now() time): `maxAgeMs` after the GET was sent, or the key's own expiry if
   *  sooner. Redis announces an expiry only when it gets round to deleting the key, which may be much later. */
  until: number;
}

export interface RedisNearReader extends NearReader {
  close(): Promise<void>;
}

/** `fullPrefix` and the keys passed to get/peek/forget are complete Redis key names under it (the store adds its own
 *  prefix and refuses keys outside). */
export function createRedisNearReader(client: Redis, fullPrefix: string, onError: KvErrorHandler, options: NearReaderOptions = {}): RedisNearReader {
  const maxEntries = options.maxEntries ?? NEAR_DEFAULTS.maxEntries;
  const maxAgeMs = options.maxAgeMs ?? NEAR_DEFAULTS.maxAgeMs;
  const entries = new Map<string, Entry>();
  const stats = { hits: 0, misses: 0 };
  /** Bumped by every invalidation: a GET that was in flight across one may carry the old value and is not kept. */
  let epoch = 0;
  let armed = false;
  let closed = false;
  let listener: Redis | undefined;

  function disarm(): void {
    armed = false;
    entries.clear();
    epoch++;
  }

  function invalidate(keys: Buffer[] | null): void {
    epoch++;
    if (keys === null) entries.clear(); // FLUSHDB / FLUSHALL, or Redis lost track: everything goes
    else for (const key of keys) entries.delete(key.toString());
  }

  async function arm(connection: Redis): Promise<void> {
    try {
      const id = await connection.client('ID');
      await connection.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', 'PREFIX', fullPrefix);
      await connection.subscribe(INVALIDATE_CHANNEL);
      if (!closed && listener === connection && connection.status === 'ready') {
        entries.clear();
        epoch++;
        armed = true;
      }
    } catch (error) {
      // Reads go to Redis until the next reconnect arms tracking again.
      onError(error);
    }
  }

  function listen(): void {
    if (listener || closed) return;
    // RESP2: invalidations arrive as pub/sub messages (ioredis drops RESP3 "invalidate" pushes). Its own
    // subscriptions are redone by arm() after tracking, never resubscribed by ioredis before it.
    const connection = client.duplicate({
      protocol: 2,
      autoResubscribe: false,
      enableAutoPipelining: false,
      connectionName: `${client.options.connectionName ?? 'kv'}:near`,
    });
    connection.on('error', onError);
    connection.on('ready', () => void arm(connection));
    connection.on('close', disarm);
    connection.on('end', disarm);
    connection.on('messageBuffer', (channel: Buffer, message: Buffer[] | Buffer | null) => {
      if (channel.toString() !== INVALIDATE_CHANNEL) return;
      invalidate(Array.isArray(message) ? message : message === null ? null : [message]);
    });
    listener = connection;
  }

  return {
    async get(key) {
      listen();
      const now = Date.now();
      if (armed) {
        const known = entries.get(key);
        if (known && now < known.until) {
          stats.hits++;
          return known.value;
        }
      }
      stats.misses++;
      const since = epoch;
      const keep = armed;
      // One round trip (auto-pipelined). Not atomic, and need not be: a write in between is announced, so the epoch
      // moves and nothing is kept.
      const [value, ttlMs] = await Promise.all([client.get(key), client.pttl(key)]);
      if (keep && armed && epoch === since && value !== null && ttlMs !== -2) {
        entries.delete(key);
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(key, { value, until: now + (ttlMs >= 0 ? Math.min(ttlMs, maxAgeMs) : maxAgeMs) });
      }
      return value;
    },

    peek(key) {
      if (!armed) return undefined;
      const known = entries.get(key);
      if (!known || Date.now() >= known.until) return undefined;
      stats.hits++;
      return known.value;
    },

    forget(key) {
      epoch++;
      entries.delete(key);
    },

    stats: () => ({ ...stats, entries: entries.size, armed }),

    async close() {
      closed = true;
      disarm();
      const connection = listener;
      listener = undefined;
      if (!connection) return;
      try {
        await connection.quit();
      } catch {
        connection.disconnect();
      }
    },
  };
}
