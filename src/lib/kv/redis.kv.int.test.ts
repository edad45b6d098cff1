// What only the Redis store has to prove beyond the shared contract: the prefix reaches the server, instances
// share state, one subscriber connection multiplexes channels, scripts load themselves, close leaves no client.
// The server tests run in the postgres-redis project (the one with a Redis); the pure ones run everywhere.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { KeyValueStore } from './kv.js';
import { createRedisClient, reconnectDelayMs } from './redis-client.js';
import { defineScript, runScript } from './redis-scripts.js';
import { createRedisKeyValueStore, escapeGlob } from './redis.kv.js';

describe('Redis store, without a server', () => {
  it('escapes every SCAN glob character', () => {
    expect(escapeGlob('a*b?c[d]e\\f:')).toBe('a\\*b\\?c\\[d\\]e\\\\f:');
  });

  it('backs off exponentially to a cap when reconnecting', () => {
    expect(reconnectDelayMs(1)).toBeGreaterThanOrEqual(100);
    expect(reconnectDelayMs(1)).toBeLessThan(200);
    expect(reconnectDelayMs(3)).toBeGreaterThanOrEqual(400);
    expect(reconnectDelayMs(50)).toBeLessThan(3_100);
  });

  it('refuses a client that carries its own keyPrefix', () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: 'x:' });
    expect(() => createRedisKeyValueStore(client)).toThrow(/keyPrefix/);
    client.disconnect();
  });
});

if (process.env.HUB_TEST_BACKEND === 'postgres-redis') {
  const url = process.env.REDIS_URL ?? '';
  const prefix = `test:kv-redis:${randomUUID()}:`;
  const name = `kvtest-${randomUUID().slice(0, 8)}`;
  const raw = createRedisClient(url, { connectionName: `${name}-raw` });
  const stores: KeyValueStore[] = [];

  function open(): KeyValueStore {
    const kv = createRedisKeyValueStore(createRedisClient(url, { connectionName: name }), { keyPrefix: prefix });
    stores.push(kv);
    return kv;
  }

  async function clientNames(): Promise<string[]> {
    const list = String(await raw.client('LIST'));
    return [...list.matchAll(/ name=(\S*)/g)].map((m) => m[1] ?? '').filter((n) => n.startsWith(name + ':') || n === name);
  }

  async function waitFor(probe: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error('condition not met within 2000 ms');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((kv) => kv.close()));
  });

  afterAll(async () => {
    const cleaner = createRedisKeyValueStore(raw);
    await cleaner.delByPrefix(prefix);
    await cleaner.close();
  });

  describe('Redis store, on a real server', () => {
    it('applies the prefix to keys and channels on the server', async () => {
      const kv = open();
      await kv.set('k', 'v');
      expect(await raw.get(`${prefix}k`)).toBe('v');
      expect(await raw.get('k')).toBeNull();
      const got: string[] = [];
      await kv.subscribe('ch', (m) => void got.push(m));
      await raw.publish('ch', 'unprefixed');
      await raw.publish(`${prefix}ch`, 'prefixed');
      await waitFor(() => got.length === 1);
      expect(got).toEqual(['prefixed']);
    });

    it('shares keys, locks and messages between two instances on the same prefix', async () => {
      const [a, b] = [open(), open()];
      await a.set('shared', '1');
      expect(await b.take('shared')).toBe('1');
      expect(await a.get('shared')).toBeNull();

      const tries = Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).acquire('one', `o${i}`, 5_000));
      expect((await Promise.all(tries)).filter(Boolean)).toHaveLength(1);

      const got: string[] = [];
      await b.subscribe('fan', (m) => void got.push(m));
      await a.publish('fan', 'from a');
      await waitFor(() => got.length === 1);
    });

    it('multiplexes channels over one subscriber connection and unsubscribes a channel when its last handler goes', async () => {
      const kv = open();
      const channels = ['c1', 'c2', 'c3'].map((c) => prefix + c);
      const unsubscribers = await Promise.all(['c1', 'c2', 'c3', 'c1'].map((c) => kv.subscribe(c, () => undefined)));
      expect((await clientNames()).filter((n) => n === `${name}:sub`)).toHaveLength(1);
      expect(await raw.pubsub('NUMSUB', ...channels)).toEqual([channels[0], 1, channels[1], 1, channels[2], 1]);

      await unsubscribers[0]?.(); // c1 still has a handler
      expect(await raw.pubsub('NUMSUB', channels[0] ?? '')).toEqual([channels[0], 1]);
      await unsubscribers[3]?.();
      expect(await raw.pubsub('NUMSUB', channels[0] ?? '')).toEqual([channels[0], 0]);
    });

    it('loads a script the server has not seen (NOSCRIPT → EVAL), then runs it by hash', async () => {
      const script = defineScript(`-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
      expect(await raw.script('EXISTS', script.sha)).toEqual([0]);
      expect(await runScript(raw, script, [`${prefix}s`], [5])).toBe(5);
      expect(await raw.script('EXISTS', script.sha)).toEqual([1]);
      expect(await runScript(raw, script, [`${prefix}s`], [2])).toBe(7);
    });

    it("near reader: serves hits from memory and sees another instance's writes and deletes through tracking alone", async () => {
      const [a, b] = [open(), open()];
      // A long maxAge: only Redis' invalidation messages can make `a` read again.
      const near = a.nearReader('n:', { maxAgeMs: 60_000 });
      await b.set('n:k', 'v1');
      await waitFor(async () => (await near.get('n:k')) === 'v1' && near.stats().armed);
      await near.get('n:k');
      const before = near.stats();
      expect(await near.get('n:k')).toBe('v1');
      expect(near.stats().hits).toBe(before.hits + 1);
      expect(near.stats().misses).toBe(before.misses);
      expect(near.peek('n:k')).toBe('v1');

      await b.set('n:k', 'v2');
      await waitFor(async () => (await near.get('n:k')) === 'v2');
      await b.del('n:k');
      await waitFor(async () => (await near.get('n:k')) === null);
      expect(near.peek('n:k')).toBeUndefined();
      // Keys outside the prefix are never announced, so never kept.
      await expect(near.get('other')).rejects.toThrow(RangeError);
    });

    it('near reader: forgets everything when its connection drops, reads through, and keeps values again once re-armed', async () => {
      const [a, b] = [open(), open()];
      const near = a.nearReader('n:', { maxAgeMs: 60_000 });
      await b.set('n:d', 'v1');
      await waitFor(async () => (await near.get('n:d')) === 'v1' && near.stats().armed && near.stats().entries === 1);
      const list = String(await raw.client('LIST'));
      const id = /id=(\d+) [^\n]* name=(\S+)/g;
      const nearId = [...list.matchAll(id)].find((m) => m[2] === `${name}:near`)?.[1];
      expect(nearId).toBeDefined();
      await raw.client('KILL', 'ID', nearId!);
      // Written while the announcements may be lost: seen anyway, because a dropped connection forgets all.
      await b.set('n:d', 'v2');
      await waitFor(async () => (await near.get('n:d')) === 'v2');
      await waitFor(() => near.stats().armed);
      await b.set('n:d', 'v3');
      await waitFor(async () => (await near.get('n:d')) === 'v3');
      await waitFor(async () => {
        const hits = near.stats().hits;
        return (await near.get('n:d')) === 'v3' && near.stats().hits === hits + 1;
      });
      expect((await clientNames()).filter((n) => n === `${name}:near`)).toHaveLength(1);
      await a.close();
      await waitFor(async () => !(await clientNames()).includes(`${name}:near`));
    });

    it('quits both its connections on close', async () => {
      const kv = open();
      await kv.subscribe('x', () => undefined);
      expect(await clientNames()).toHaveLength(2);
      await kv.close();
      await waitFor(async () => (await clientNames()).length === 0);
    });
  });
}
