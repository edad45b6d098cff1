// The key-value store: the one interface for shared fast state (cache, OAuth state, locks, counters, pub/sub).
// Two implementations honour it: Redis (many instances) and in-memory (one process, the default).

export type Unsubscribe = () => Promise<void>;

export interface HistoryOptions {
  historyMs: number;
  maxLength: number;
}

export interface HistoryEntry {
  id: string;
  message: string;
}

/** History ids are `<milliseconds>-<sequence>`, as Redis stream ids. */
export const HISTORY_ID = /^\d{1,15}-\d{1,15}$/;

/** Orders two history ids: negative when a is older. */
export function compareHistoryIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

export interface NearReaderOptions {
  /** Values kept at most (oldest dropped first); default 10,000. */
  maxEntries?: number;
  /** A kept value is read again from the store after this long, whatever else happens; default 1 s. */
  maxAgeMs?: number;
}

/** Reads of keys under one prefix, kept in process memory while the store announces every change to them. */
export interface NearReader {
  /** As `get`; a change made through any store connected to the same server is seen once its announcement
   *  arrives (moments), and always within `maxAgeMs`. */
  get(key: string): Promise<string | null>;
  /** The value kept in process for the key, if any, without waiting (undefined: ask `get`). */
  peek(key: string): string | undefined;
  /** Drops what is kept for the key: call it after writing the key, so this process reads its own write. */
  forget(key: string): void;
  stats(): { hits: number; misses: number; entries: number; armed: boolean };
}

/**
 * TTL arguments are milliseconds; anything not finite and positive rejects with RangeError (fractions round up).
 * Keys and channels are opaque strings: build them in src/lib/kv-keys.ts, never inline.
 */
export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** Sets a value; with ttlMs it expires after that many milliseconds; without, any previous TTL is cleared. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(...keys: string[]): Promise<number>;
  /** Deletes every key that starts with the prefix (taken literally, never as a pattern); returns how many went.
   *  Not atomic: a key written while it runs may survive. Rejects the empty prefix. */
  delByPrefix(prefix: string): Promise<number>;
  /** Atomic get-and-delete: of many concurrent takers, exactly one gets the value. */
  take(key: string): Promise<string | null>;
  /** Sets the key to `owner` only if it is absent (a lock); true when this caller now holds it. */
  acquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends a held lock; false (and no change) when `owner` no longer holds it. */
  extend(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key only if `owner` still holds it; false when someone else does or nobody. */
  release(key: string, owner: string): Promise<boolean>;
  /** Increments a counter; the TTL is set when the counter is created (or found without one) and not moved after.
   *  Rejects when the key holds something that is not an integer. */
  incr(key: string, ttlMs: number): Promise<number>;
  /** Remaining time to live in ms: -1 without expiry, -2 when absent. */
  ttl(key: string): Promise<number>;
  publish(channel: string, message: string): Promise<void>;
  /** Calls the handler for each message on the channel until the returned function is called. Resolves once
   *  the subscription is live; delivery is asynchronous, in publish order, at most once (a subscriber that is
   *  away misses messages). A handler that throws or rejects is reported and does not affect the others. */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
  /**
   * Publishes `message` on the channel AND appends it to a short history at `historyKey`, atomically, so ids
   * follow publish order. Subscribers receive `<id> <message>`. The history keeps messages for `historyMs`
   * (at most `maxLength` of them, approximately) and expires `historyMs` after the last append. Resolves to
   * the id: `<ms>-<seq>`, increasing.
   */
  publishWithHistory(channel: string, historyKey: string, message: string, options: HistoryOptions): Promise<string>;
  /** The history's messages after `afterId` (exclusive), oldest first, at most `limit`; [] for an id not of the form `<ms>-<seq>`. */
  readHistory(historyKey: string, afterId: string, limit: number): Promise<HistoryEntry[]>;
  /**
   * A reader for keys under `prefix` (hot, read-mostly keys: cached widget data). Redis: server-assisted client
   * caching on one more connection; memory: the store itself (already in process). Closed with the store.
   */
  nearReader(prefix: string, options?: NearReaderOptions): NearReader;
  ping(): Promise<void>;
  /** Clears timers and subscriptions and closes the connections; later calls reject. Safe to call twice. */
  close(): Promise<void>;
}
