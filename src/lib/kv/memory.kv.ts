// The in-memory key-value store: the embedded default for one process (laptop, demo, `pnpm dev`).
// Every operation reads and writes without an await in between, so on Node's single thread take, acquire,
// extend, release and incr are atomic by construction, like their Redis counterparts.
import { performance } from 'node:perf_hooks';
import { compareHistoryIds, HISTORY_ID, type HistoryEntry, type KeyValueStore, type Unsubscribe } from './kv.js';
import { deliverSafely, reportToStderr, type KvErrorHandler } from './subscriber-errors.js';
import { checkPrefix, checkTtlMs, checkUnder } from './ttl.js';

export interface MemoryKeyValueStore extends KeyValueStore {
  /** Entries held in memory, expired-but-not-yet-swept ones included: what the process pays for (a metrics gauge). */
  size(): number;
}

export interface MemoryKeyValueStoreOptions {
  /** How often expired entries nobody reads again are dropped; default 30 s. */
  sweepIntervalMs?: number;
  /** Receives errors thrown by subscribers' handlers; default: stderr. */
  onError?: KvErrorHandler;
}

interface Entry {
  value: string;
  /** performance.now() deadline: monotonic, so a wall-clock jump neither expires nor revives keys. */
  expiresAt: number;
}

interface Subscription {
  handler: (message: string) => void;
}

const NO_EXPIRY = Number.POSITIVE_INFINITY;
const INTEGER = /^-?\d+$/;

export function createMemoryKeyValueStore(options: MemoryKeyValueStoreOptions = {}): MemoryKeyValueStore {
  const onError = options.onError ?? reportToStderr;
  const entries = new Map<string, Entry>();
  const channels = new Map<string, Set<Subscription>>();
  const histories = new Map<string, { entries: (HistoryEntry & { at: number })[]; expiresAt: number }>();
  let lastHistoryMs = 0;
  let historySeq = 0;
  let closed = false;

  const sweeper = setInterval(sweep, options.sweepIntervalMs ?? 30_000);
  // The sweep is housekeeping: it must never keep a process alive that has nothing else to do.
  sweeper.unref();

  function sweep(): void {
    const now = performance.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= now) entries.delete(key);
    }
    for (const [key, history] of histories) {
      if (history.expiresAt <= now) histories.delete(key);
    }
  }

  /** The next history id: wall-clock milliseconds (never going back) and a sequence within one millisecond. */
  function nextHistoryId(): string {
    const ms = Math.max(Date.now(), lastHistoryMs);
    historySeq = ms === lastHistoryMs ? historySeq + 1 : 0;
    lastHistoryMs = ms;
    return `${ms}-${historySeq}`;
  }

  function deliver(channel: string, message: string): void {
    const subscriptions = channels.get(channel);
    if (!subscriptions) return;
    for (const subscription of subscriptions) {
      // Deliver later, as Redis does after a round trip: a publisher never runs subscriber code inline.
      // The check at delivery time means an unsubscribe that lands first wins, as with the Redis multiplexer.
      setImmediate(() => {
        if (!closed && subscriptions.has(subscription)) deliverSafely(subscription.handler, message, onError);
      });
    }
  }

  function assertOpen(): void {
    if (closed) throw new Error('key-value store is closed');
  }

  /** The live entry, or undefined; an expired one is dropped on the way (lazy expiry). */
  function live(key: string): Entry | undefined {
    assertOpen();
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= performance.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function deadline(ttlMs: number | undefined): number {
    return ttlMs === undefined ? NO_EXPIRY : performance.now() + checkTtlMs(ttlMs);
  }

  return {
    kind: 'memory',

    async get(key) {
      return live(key)?.value ?? null;
    },

    async set(key, value, ttlMs) {
      assertOpen();
      // Like Redis SET: a plain set replaces the value and clears any previous TTL.
      entries.set(key, { value, expiresAt: deadline(ttlMs) });
    },

    async del(...keys) {
      let removed = 0;
      for (const key of keys) {
        if (live(key) && entries.delete(key)) removed += 1;
      }
      return removed;
    },

    async delByPrefix(prefix) {
      checkPrefix(prefix);
      assertOpen();
      const now = performance.now();
      let removed = 0;
      for (const [key, entry] of entries) {
        if (!key.startsWith(prefix)) continue;
        entries.delete(key);
        if (entry.expiresAt > now) removed += 1;
      }
      return removed;
    },

    async take(key) {
      const entry = live(key);
      if (!entry) return null;
      entries.delete(key);
      return entry.value;
    },

    async acquire(key, owner, ttlMs) {
      const expiresAt = deadline(ttlMs);
      if (live(key)) return false;
      entries.set(key, { value: owner, expiresAt });
      return true;
    },

    async extend(key, owner, ttlMs) {
      const expiresAt = deadline(ttlMs);
      const entry = live(key);
      if (entry?.value !== owner) return false;
      entry.expiresAt = expiresAt;
      return true;
    },

    async release(key, owner) {
      if (live(key)?.value !== owner) return false;
      entries.delete(key);
      return true;
    },

    async incr(key, ttlMs) {
      const expiresAt = deadline(ttlMs);
      const entry = live(key);
      if (!entry) {
        entries.set(key, { value: '1', expiresAt });
        return 1;
      }
      const next = Number(entry.value) + 1;
      if (!INTEGER.test(entry.value) || !Number.isSafeInteger(next)) {
        throw new Error('ERR value is not an integer or out of range');
      }
      entry.value = String(next);
      // Same rule as the Redis script: a counter that has no TTL gets one, an existing TTL is never moved.
      if (entry.expiresAt === NO_EXPIRY) entry.expiresAt = expiresAt;
      return next;
    },

    async ttl(key) {
      const entry = live(key);
      if (!entry) return -2;
      if (entry.expiresAt === NO_EXPIRY) return -1;
      return Math.ceil(entry.expiresAt - performance.now());
    },

    async publishWithHistory(channel, historyKey, message, options) {
      assertOpen();
      const ttl = checkTtlMs(options.historyMs);
      const now = performance.now();
      let history = histories.get(historyKey);
      if (!history || history.expiresAt <= now) {
        history = { entries: [], expiresAt: 0 };
        histories.set(historyKey, history);
      }
      const id = nextHistoryId();
      history.entries.push({ id, message, at: now });
      history.expiresAt = now + ttl;
      while (history.entries.length > options.maxLength || (history.entries[0] && history.entries[0].at <= now - ttl)) history.entries.shift();
      deliver(channel, `${id} ${message}`);
      return id;
    },

    async readHistory(historyKey, afterId, limit) {
      assertOpen();
      const history = histories.get(historyKey);
      if (!HISTORY_ID.test(afterId) || !history || history.expiresAt <= performance.now()) return [];
      return history.entries
        .filter((e) => compareHistoryIds(e.id, afterId) > 0)
        .slice(0, limit)
        .map(({ id, message }) => ({ id, message }));
    },

    async publish(channel, message) {
      assertOpen();
      deliver(channel, message);
    },

    async subscribe(channel, handler): Promise<Unsubscribe> {
      assertOpen();
      // One object per call: subscribing the same function twice makes two independent subscriptions.
      const subscription: Subscription = { handler };
      let subscriptions = channels.get(channel);
      if (!subscriptions) {
        subscriptions = new Set();
        channels.set(channel, subscriptions);
      }
      subscriptions.add(subscription);
      const set = subscriptions;
      return async () => {
        set.delete(subscription);
        if (set.size === 0 && channels.get(channel) === set) channels.delete(channel);
      };
    },

    nearReader(prefix) {
      checkPrefix(prefix);
      // The store is in process already: reading it is the near read.
      let hits = 0;
      return {
        get: async (key) => {
          const entry = live(checkUnder(prefix, key));
          hits++;
          return entry?.value ?? null;
        },
        peek: (key) => {
          const value = live(checkUnder(prefix, key))?.value;
          if (value !== undefined) hits++;
          return value;
        },
        forget: () => undefined,
        stats: () => ({ hits, misses: 0, entries: 0, armed: true }),
      };
    },

    async ping() {
      assertOpen();
    },

    async close() {
      closed = true;
      clearInterval(sweeper);
      entries.clear();
      channels.clear();
      histories.clear();
    },

    size() {
      return entries.size;
    },
  };
}
