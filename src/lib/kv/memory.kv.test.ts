// What only the in-memory store has: the sweep that frees expired keys nobody reads again, and close() ending it.
import { describe, expect, it } from 'vitest';
import { createMemoryKeyValueStore } from './memory.kv.js';

async function waitFor(probe: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('in-memory store', () => {
  it('sweeps expired entries that are never read again, and keeps live ones', async () => {
    const kv = createMemoryKeyValueStore({ sweepIntervalMs: 20 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => kv.set(`gone:${i}`, 'v', 50)));
    await kv.set('stays', 'v');
    await kv.set('later', 'v', 60_000);
    expect(kv.size()).toBe(102);
    await waitFor(() => kv.size() === 2);
    expect(await kv.get('stays')).toBe('v');
    expect(await kv.get('later')).toBe('v');
    await kv.close();
  });

  it('does not count an expired, unswept key as deleted', async () => {
    const kv = createMemoryKeyValueStore({ sweepIntervalMs: 60_000 });
    await kv.set('p:old', 'v', 20);
    await kv.set('p:new', 'v');
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(kv.size()).toBe(2);
    expect(await kv.delByPrefix('p:')).toBe(1);
    expect(await kv.del('p:old')).toBe(0);
    expect(kv.size()).toBe(0);
    await kv.close();
  });

  it('delivers asynchronously, and an unsubscribe that lands before delivery wins', async () => {
    const kv = createMemoryKeyValueStore();
    const got: string[] = [];
    const unsubscribe = await kv.subscribe('c', (m) => void got.push(m));
    await kv.publish('c', 'in flight');
    expect(got).toEqual([]); // never inline in the publisher's turn
    await unsubscribe();
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual([]);
    await kv.close();
  });

  it('drops everything on close and delivers nothing published before it', async () => {
    const kv = createMemoryKeyValueStore();
    const got: string[] = [];
    await kv.subscribe('c', (m) => void got.push(m));
    await kv.set('k', 'v');
    await kv.publish('c', 'late');
    await kv.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual([]);
    expect(kv.size()).toBe(0);
  });
});
