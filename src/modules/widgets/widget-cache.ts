// Widget values in the key-value store, sealed with the connection's own data key (executives' figures never
// sit in Redis in plaintext), with one fetch per key across every instance (in-process single flight + lock).
import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import { KV_TTL_MS, widgetCache, widgetCacheRoot, widgetFetchLock } from '../../lib/kv-keys.js';
import type { KeyValueStore } from '../../lib/kv/kv.js';
import { openWithDataKey, sealWithDataKey } from '../vault/vault.service.js';

export interface CachedValue {
  data: unknown;
  fetchedAt: string;
  /** Fresh until then; kept (and served stale) for KV_TTL_MS.widgetCacheRetention after. */
  freshUntil: string;
}

export interface CacheSlot {
  connectionId: string;
  widgetId: string;
  paramsHash: string;
  dataKey: Buffer | KeyObject;
  /** The cache key, when the caller already has it (made once per connection and params, not per read). */
  key?: string;
}

/** A stable hash of parsed params: key order does not matter. */
export function hashParams(params: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
      : Array.isArray(v) ? v.map(canonical) : v;
  return createHash('sha256').update(JSON.stringify(canonical(params ?? {}))).digest('base64url').slice(0, 22);
}

const WAIT_STEP_MS = 20;
/** Opened values kept in process, keyed by cache key; a read still gets the sealed value from the store (or the near reader). */
const OPENED_MAX = 5_000;

export function createWidgetCache(deps: { kv: KeyValueStore }) {
  const { kv } = deps;
  // Hits are read from process memory that Redis keeps coherent (see redis-near-cache.ts): no round trip per read.
  const near = kv.nearReader(widgetCacheRoot());
  const inFlight = new Map<string, Promise<CachedValue>>();
  const keyOf = (slot: CacheSlot) => slot.key ?? widgetCache(slot.connectionId, slot.widgetId, slot.paramsHash);
  // The last value opened per key, with the exact sealed text and data key it came from: a hit whose store still
  // holds the same text under the same key skips the decryption and the parse (the store stays the truth).
  const opened = new Map<string, { sealed: string; dataKey: CacheSlot['dataKey']; value: CachedValue }>();

  /**
   * The value under the slot's key. `authoritative` reads the store itself, not the near copy: the single-flight
   * checks below must see another instance's write at once, not when its announcement arrives.
   */
  async function read(slot: CacheSlot, authoritative = false): Promise<CachedValue | undefined> {
    const key = keyOf(slot);
    const sealed = authoritative ? await kv.get(key) : (near.peek(key) ?? (await near.get(key)));
    if (!sealed) {
      opened.delete(key);
      return undefined;
    }
    const known = opened.get(key);
    if (known && known.sealed === sealed && known.dataKey === slot.dataKey) return known.value;
    try {
      const value = JSON.parse(openWithDataKey(slot.dataKey, key, sealed)) as CachedValue;
      if (opened.size >= OPENED_MAX) opened.delete(opened.keys().next().value!);
      opened.set(key, { sealed, dataKey: slot.dataKey, value });
      return value;
    } catch {
      // Sealed under a data key that is gone (reconnected) or tampered with: a miss, never an error.
      return undefined;
    }
  }

  /**
   * The value when this process holds it already (the near copy present and opened): no await, no round trip.
   * Undefined means "not known here", not "missing": then read().
   */
  function peek(slot: CacheSlot): CachedValue | undefined {
    const key = keyOf(slot);
    const sealed = near.peek(key);
    if (sealed === undefined) return undefined;
    const known = opened.get(key);
    return known && known.sealed === sealed && known.dataKey === slot.dataKey ? known.value : undefined;
  }

  async function write(slot: CacheSlot, value: CachedValue): Promise<void> {
    const key = keyOf(slot);
    const ttl = Date.parse(value.freshUntil) - Date.now() + KV_TTL_MS.widgetCacheRetention;
    await kv.set(key, sealWithDataKey(slot.dataKey, key, JSON.stringify(value)), Math.max(1000, ttl));
    near.forget(key);
  }

  /** Runs the loader once per key across instances; others wait for its value (or take over if it dies). */
  async function fetchShared(slot: CacheSlot, loader: () => Promise<CachedValue>, previous: string | undefined): Promise<CachedValue> {
    const lock = widgetFetchLock(slot.connectionId, slot.widgetId, slot.paramsHash);
    const owner = randomUUID();
    const deadline = Date.now() + KV_TTL_MS.widgetFetchLock;
    for (;;) {
      if (await kv.acquire(lock, owner, KV_TTL_MS.widgetFetchLock)) {
        try {
          // Another instance may have fetched between our miss and our lock: use its value, fetch nothing.
          const current = await read(slot, true);
          if (current && (!previous || current.fetchedAt > previous)) return current;
          const value = await loader();
          await write(slot, value);
          return value;
        } finally {
          await kv.release(lock, owner);
        }
      }
      // Another instance is fetching: wait for a value newer than the one we had, or for its lock to go.
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
        const value = await read(slot, true);
        if (value && (!previous || value.fetchedAt > previous)) return value;
        if ((await kv.get(lock)) === null) break;
      }
      if (Date.now() >= deadline) throw new Error('timed out waiting for another instance to fetch the widget');
    }
  }

  return {
    read,
    peek,
    write,
    /**
     * One fetch per key: concurrent callers in this process share one promise; other instances wait on the
     * lock for a value newer than `previousFetchedAt` (the value the caller already had, if any).
     */
    fetch(slot: CacheSlot, loader: () => Promise<CachedValue>, previousFetchedAt?: string): Promise<CachedValue> {
      const key = keyOf(slot);
      const running = inFlight.get(key);
      if (running) return running;
      const promise = fetchShared(slot, loader, previousFetchedAt).finally(() => inFlight.delete(key));
      inFlight.set(key, promise);
      return promise;
    },
  };
}

export type WidgetCache = ReturnType<typeof createWidgetCache>;
