// The KeyValueStore contract: one suite, run on the in-memory store (embedded project) and on a real Redis
// (postgres-redis project, under a random key prefix per file, removed afterwards). Redis must answer there.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareHistoryIds, type KeyValueStore } from './kv.js';
import { createMemoryKeyValueStore } from './memory.kv.js';
import { createRedisClient } from './redis-client.js';
import { createRedisKeyValueStore } from './redis.kv.js';

const onRedis = process.env.HUB_TEST_BACKEND === 'postgres-redis';
const filePrefix = `test:kv:${randomUUID()}:`;
const handlerErrors: unknown[] = [];
const opened: KeyValueStore[] = [];

function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('postgres-redis project without REDIS_URL');
  return url;
}

/** A store; stores opened with different namespaces must not see each other's keys or messages. */
function open(namespace = 'main'): KeyValueStore {
  const onError = (error: unknown) => handlerErrors.push(error);
  const kv = onRedis
    ? createRedisKeyValueStore(createRedisClient(redisUrl()), { keyPrefix: `${filePrefix}${namespace}:`, onError })
    : createMemoryKeyValueStore({ onError });
  opened.push(kv);
  return kv;
}

/** Polls until the probe holds; fails after the bound instead of hanging. */
async function waitFor(probe: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function recorder() {
  const got: string[] = [];
  return { got, handler: (message: string) => void got.push(message) };
}

let kv: KeyValueStore;

beforeEach(async () => {
  handlerErrors.length = 0;
  kv = open();
  await kv.ping(); // in postgres-redis an unreachable Redis fails here, loudly
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

afterAll(async () => {
  if (!onRedis) return;
  const cleaner = createRedisKeyValueStore(createRedisClient(redisUrl()));
  await cleaner.delByPrefix(filePrefix);
  await cleaner.close();
});

describe(`KeyValueStore contract (${onRedis ? 'redis' : 'memory'})`, () => {
  it('is the expected implementation', () => {
    expect(kv.kind).toBe(onRedis ? 'redis' : 'memory');
  });

  it('gets what was set, null for a missing key, and overwrites', async () => {
    expect(await kv.get('a')).toBeNull();
    await kv.set('a', 'één ✓');
    expect(await kv.get('a')).toBe('één ✓');
    await kv.set('a', '');
    expect(await kv.get('a')).toBe('');
  });

  it('expires a key after its TTL', async () => {
    await kv.set('short', 'v', 150);
    expect(await kv.get('short')).toBe('v');
    await waitFor(async () => (await kv.get('short')) === null);
    expect(await kv.ttl('short')).toBe(-2);
  });

  it('reports ttl: -2 when absent, -1 without expiry, the remaining ms otherwise; a plain set clears a TTL', async () => {
    expect(await kv.ttl('t')).toBe(-2);
    await kv.set('t', 'v');
    expect(await kv.ttl('t')).toBe(-1);
    await kv.set('t', 'v', 10_000);
    const left = await kv.ttl('t');
    expect(left).toBeGreaterThan(9_000);
    expect(left).toBeLessThanOrEqual(10_000);
    await kv.set('t', 'w');
    expect(await kv.ttl('t')).toBe(-1);
  });

  it('refuses a TTL that is not a positive duration', async () => {
    await expect(kv.set('bad', 'v', 0)).rejects.toThrow(RangeError);
    await expect(kv.acquire('bad', 'o', -5)).rejects.toThrow(RangeError);
    await expect(kv.incr('bad', Number.NaN)).rejects.toThrow(RangeError);
    expect(await kv.get('bad')).toBeNull();
  });

  it('deletes keys and counts only those that existed', async () => {
    await kv.set('d1', '1');
    await kv.set('d2', '2');
    expect(await kv.del('d1', 'd2', 'never')).toBe(2);
    expect(await kv.get('d1')).toBeNull();
    expect(await kv.del()).toBe(0);
  });

  it('deletes by prefix, in batches, without touching other prefixes', async () => {
    const many = Array.from({ length: 1_200 }, (_, i) => `p:${i}`);
    await Promise.all([...many, 'px:1', 'q:p:1', 'p'].map((key) => kv.set(key, 'v')));
    expect(await kv.delByPrefix('p:')).toBe(1_200);
    expect(await kv.get('p:7')).toBeNull();
    expect(await kv.get('px:1')).toBe('v');
    expect(await kv.get('q:p:1')).toBe('v');
    expect(await kv.get('p')).toBe('v');
    expect(await kv.delByPrefix('p:')).toBe(0);
  });

  it('treats glob characters in a prefix literally, and refuses the empty prefix', async () => {
    await kv.set('g*[a]?\\:1', 'v');
    await kv.set('gZZa!\\:1', 'decoy'); // what the unescaped pattern g*[a]?\:* would also match
    expect(await kv.delByPrefix('g*[a]?\\:')).toBe(1);
    expect(await kv.get('gZZa!\\:1')).toBe('decoy');
    await expect(kv.delByPrefix('')).rejects.toThrow(RangeError);
    expect(await kv.get('gZZa!\\:1')).toBe('decoy');
  });

  it('take is atomic: of 200 concurrent takers exactly one gets the value, then the key is gone', async () => {
    await kv.set('once', 'secret-state');
    const results = await Promise.all(Array.from({ length: 200 }, () => kv.take('once')));
    expect(results.filter((r) => r !== null)).toEqual(['secret-state']);
    expect(await kv.get('once')).toBeNull();
    expect(await kv.take('once')).toBeNull();
  });

  it('acquire is exclusive: of 50 concurrent owners exactly one holds the lock', async () => {
    const owners = Array.from({ length: 50 }, (_, i) => `owner-${i}`);
    const won = await Promise.all(owners.map((owner) => kv.acquire('lock', owner, 10_000)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await kv.get('lock')).toBe(owners[won.indexOf(true)]);
    expect(await kv.ttl('lock')).toBeGreaterThan(9_000);
  });

  it('extend and release refuse a wrong owner and succeed for the holder', async () => {
    expect(await kv.acquire('l', 'me', 5_000)).toBe(true);
    expect(await kv.extend('l', 'you', 60_000)).toBe(false);
    expect(await kv.ttl('l')).toBeLessThanOrEqual(5_000);
    expect(await kv.release('l', 'you')).toBe(false);
    expect(await kv.get('l')).toBe('me');

    expect(await kv.extend('l', 'me', 60_000)).toBe(true);
    expect(await kv.ttl('l')).toBeGreaterThan(50_000);
    expect(await kv.release('l', 'me')).toBe(true);
    expect(await kv.get('l')).toBeNull();
    expect(await kv.release('l', 'me')).toBe(false);
    expect(await kv.extend('l', 'me', 1_000)).toBe(false);
    expect(await kv.get('l')).toBeNull();
  });

  it('a lock expires and can then be acquired by another owner; the old owner can no longer touch it', async () => {
    expect(await kv.acquire('exp', 'first', 150)).toBe(true);
    expect(await kv.acquire('exp', 'second', 150)).toBe(false);
    await waitFor(() => kv.acquire('exp', 'second', 10_000));
    expect(await kv.extend('exp', 'first', 10_000)).toBe(false);
    expect(await kv.release('exp', 'first')).toBe(false);
    expect(await kv.get('exp')).toBe('second');
  });

  it('incr counts atomically and keeps the TTL it got when the counter was created', async () => {
    // 1.5 s: long enough that a busy machine still increments before expiry, short enough to wait out.
    const counts = await Promise.all(Array.from({ length: 100 }, () => kv.incr('n', 1_500)));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await kv.incr('n', 60_000)).toBe(101);
    const left = await kv.ttl('n');
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(1_500);
    await waitFor(async () => (await kv.get('n')) === null, 5_000);
    expect(await kv.incr('n', 60_000)).toBe(1);
    expect(await kv.ttl('n')).toBeGreaterThan(50_000);
  });

  it('incr continues a counter set without a TTL, giving it one, and refuses a value that is not an integer', async () => {
    await kv.set('plain', '41');
    expect(await kv.incr('plain', 5_000)).toBe(42);
    expect(await kv.ttl('plain')).toBeGreaterThan(4_000);
    await kv.set('word', 'abc');
    await expect(kv.incr('word', 1_000)).rejects.toThrow(/not an integer/);
  });

  it('delivers published messages in order to every subscriber of the channel', async () => {
    const a = recorder();
    const b = recorder();
    await kv.subscribe('ch', a.handler);
    await kv.subscribe('ch', b.handler);
    for (const m of ['1', '2', 'três']) await kv.publish('ch', m);
    await waitFor(() => a.got.length === 3 && b.got.length === 3);
    expect(a.got).toEqual(['1', '2', 'três']);
    expect(b.got).toEqual(['1', '2', 'três']);
  });

  it('delivers to subscribers that subscribed to one channel concurrently', async () => {
    const rs = [recorder(), recorder(), recorder()];
    await Promise.all(rs.map((r) => kv.subscribe('together', r.handler)));
    await kv.publish('together', 'hi');
    await waitFor(() => rs.every((r) => r.got.length === 1));
  });

  it('stops delivering to a subscriber that unsubscribed, and not to the others', async () => {
    const gone = recorder();
    const stays = recorder();
    const unsubscribe = await kv.subscribe('u', gone.handler);
    await kv.subscribe('u', stays.handler);
    await kv.publish('u', 'before');
    await waitFor(() => gone.got.length === 1 && stays.got.length === 1);
    await unsubscribe();
    await unsubscribe(); // harmless twice
    await kv.publish('u', 'after');
    await waitFor(() => stays.got.length === 2);
    expect(gone.got).toEqual(['before']);
  });

  it('resubscribes after the last subscriber of a channel left', async () => {
    const first = recorder();
    await (await kv.subscribe('again', first.handler))();
    const second = recorder();
    await kv.subscribe('again', second.handler);
    await kv.publish('again', 'x');
    await waitFor(() => second.got.length === 1);
    expect(first.got).toEqual([]);
  });

  it('keeps channels apart', async () => {
    const one = recorder();
    await kv.subscribe('one', one.handler);
    await kv.publish('two', 'not for one');
    await kv.publish('one', 'for one');
    await waitFor(() => one.got.length === 1);
    expect(one.got).toEqual(['for one']);
  });

  it('keeps a throwing or rejecting handler from breaking the others, and reports its error', async () => {
    const ok = recorder();
    await kv.subscribe('boom', () => {
      throw new Error('handler bug');
    });
    await kv.subscribe('boom', async () => {
      throw new Error('async handler bug');
    });
    await kv.subscribe('boom', ok.handler);
    await kv.publish('boom', '1');
    await kv.publish('boom', '2');
    await waitFor(() => ok.got.length === 2 && handlerErrors.length === 4);
    expect(handlerErrors.map((e) => (e as Error).message).sort()).toEqual([
      'async handler bug', 'async handler bug', 'handler bug', 'handler bug',
    ]);
  });

  it('isolates stores opened under different prefixes: keys, deletes and channels', async () => {
    const other = open('other');
    await kv.set('same', 'mine');
    await other.set('same', 'theirs');
    expect(await kv.get('same')).toBe('mine');
    expect(await kv.acquire('lk', 'me', 5_000)).toBe(true);
    expect(await other.acquire('lk', 'them', 5_000)).toBe(true);
    await kv.delByPrefix('sa');
    expect(await other.get('same')).toBe('theirs');

    const heard = recorder();
    await other.subscribe('news', heard.handler);
    await kv.publish('news', 'not for other');
    await other.publish('news', 'for other');
    await waitFor(() => heard.got.length === 1);
    expect(heard.got).toEqual(['for other']);
  });

  it('publishes with history: subscribers get "<id> <message>", ids increase, the history resumes after an id', async () => {
    const heard = recorder();
    await kv.subscribe('live', heard.handler);
    const ids: string[] = [];
    for (const m of ['a', 'b', 'c']) ids.push(await kv.publishWithHistory('live', 'live-log', m, { historyMs: 60_000, maxLength: 100 }));
    await waitFor(() => heard.got.length === 3);
    expect(heard.got).toEqual(ids.map((id, i) => `${id} ${['a', 'b', 'c'][i]}`));
    for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
    expect(compareHistoryIds(ids[0]!, ids[1]!)).toBeLessThan(0);
    expect(compareHistoryIds(ids[1]!, ids[2]!)).toBeLessThan(0);

    expect(await kv.readHistory('live-log', ids[0]!, 10)).toEqual([{ id: ids[1], message: 'b' }, { id: ids[2], message: 'c' }]);
    expect(await kv.readHistory('live-log', '0-0', 2)).toEqual([{ id: ids[0], message: 'a' }, { id: ids[1], message: 'b' }]);
    expect(await kv.readHistory('live-log', ids[2]!, 10)).toEqual([]);
    // An id from a caller (Last-Event-ID) that is not an id reads nothing rather than failing.
    expect(await kv.readHistory('live-log', 'nonsense', 10)).toEqual([]);
    expect(await kv.readHistory('no-such-log', '0-0', 10)).toEqual([]);
  });

  it('keeps a bounded history that expires', async () => {
    for (let i = 0; i < 30; i++) await kv.publishWithHistory('cap', 'cap-log', String(i), { historyMs: 60_000, maxLength: 5 });
    const kept = await kv.readHistory('cap-log', '0-0', 100);
    expect(kept.map((e) => e.message)).toEqual(['25', '26', '27', '28', '29']);

    await kv.publishWithHistory('short', 'short-log', 'x', { historyMs: 150, maxLength: 10 });
    expect(await kv.readHistory('short-log', '0-0', 10)).toHaveLength(1);
    await waitFor(async () => (await kv.readHistory('short-log', '0-0', 10)).length === 0, 3_000);
  });

  it("near reader: answers as get does, sees this store's writes once forgotten, deletes and expiry", async () => {
    const near = kv.nearReader('hot:', { maxAgeMs: 60_000 });
    expect(await near.get('hot:a')).toBeNull();
    await kv.set('hot:a', '1');
    expect(await near.get('hot:a')).toBe('1');
    expect(await near.get('hot:a')).toBe('1');
    // peek answers only what is kept (never a stale value): the value itself, or nothing and `get` asks the store.
    expect([undefined, '1']).toContain(near.peek('hot:a'));
    expect(near.peek('hot:never-written')).toBeUndefined();
    await kv.set('hot:a', '2');
    near.forget('hot:a');
    expect(await near.get('hot:a')).toBe('2');
    await kv.del('hot:a');
    await waitFor(async () => (await near.get('hot:a')) === null, 2_000);
    expect(near.peek('hot:a')).toBeUndefined();
    await kv.set('hot:b', 'soon gone', 100);
    expect(await near.get('hot:b')).toBe('soon gone');
    await waitFor(async () => (await near.get('hot:b')) === null, 3_000);
    await expect(near.get('cold:a')).rejects.toThrow(RangeError);
    expect(() => kv.nearReader('')).toThrow(RangeError);
  });

  it('answers ping, and after close refuses work; closing twice is harmless', async () => {
    await expect(kv.ping()).resolves.toBeUndefined();
    await kv.close();
    await expect(kv.ping()).rejects.toThrow();
    await expect(kv.get('a')).rejects.toThrow();
    await expect(kv.subscribe('c', () => undefined)).rejects.toThrow();
    await expect(kv.close()).resolves.toBeUndefined();
  });
});
