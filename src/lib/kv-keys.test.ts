// Key layout: versioned, unambiguous, purgeable by prefix, and every TTL a sane positive duration.
import { describe, expect, it } from 'vitest';
import {
  KV_TTL_MS,
  oauthState,
  rateLimitPrefix,
  refreshLock,
  syncPending,
  widgetCache,
  widgetCachePrefix,
  widgetFetchLock,
  workspaceEventsChannel,
} from './kv-keys.js';

const all = [
  oauthState('s1'),
  refreshLock('conn_1'),
  widgetCache('conn_1', 'open-issues', 'abc'),
  widgetCachePrefix('conn_1'),
  widgetFetchLock('conn_1', 'open-issues', 'abc'),
  rateLimitPrefix('inbound-token'),
  rateLimitPrefix('inbound-ip'),
  rateLimitPrefix('outbound'),
  workspaceEventsChannel('ws_1'),
  syncPending('conn_1'),
];

describe('kv keys', () => {
  it('are versioned and distinct from each other', () => {
    for (const key of all) expect(key).toMatch(/^hub:v1:[a-z]/);
    expect(new Set(all).size).toBe(all.length);
  });

  it('put every widget cache key of a connection under its purge prefix, and no other connection’s', () => {
    expect(widgetCache('conn_1', 'w', 'h').startsWith(widgetCachePrefix('conn_1'))).toBe(true);
    expect(widgetCache('conn_12', 'w', 'h').startsWith(widgetCachePrefix('conn_1'))).toBe(false);
    expect(widgetFetchLock('conn_1', 'w', 'h').startsWith(widgetCachePrefix('conn_1'))).toBe(false);
  });

  it('cannot be forged by a segment that contains the separator', () => {
    expect(widgetCache('c', 'a:b', 'h')).not.toBe(widgetCache('c', 'a', 'b:h'));
    expect(widgetCachePrefix('a:b')).not.toBe(widgetCachePrefix('a'));
    expect(widgetCache('c', 'a:b', 'h').split(':')).toHaveLength(6);
  });

  it('refuse an empty segment rather than build a key that matches too much', () => {
    expect(() => widgetCachePrefix('')).toThrow(RangeError);
    expect(() => oauthState('')).toThrow(RangeError);
    expect(() => widgetCache('conn_1', 'w', '')).toThrow(RangeError);
  });

  it('give every TTL as a positive whole number of milliseconds within a day', () => {
    for (const [name, ttl] of Object.entries(KV_TTL_MS)) {
      expect(Number.isSafeInteger(ttl) && ttl > 0 && ttl <= 86_400_000, name).toBe(true);
    }
    expect(KV_TTL_MS.oauthState).toBe(600_000);
  });
});
