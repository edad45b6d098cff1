// The outbound limiter keeps one connection under its provider's declared limit, shared through the store.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../lib/kv/redis-client.js';
import { createOutboundLimiter } from './outbound-limiter.js';

const redis = process.env.REDIS_URL ? createRedisClient(process.env.REDIS_URL) : undefined;
afterAll(async () => {
  await redis?.quit();
});

describe(`outbound limiter (${redis ? 'redis' : 'memory'})`, () => {
  const hint = { points: 3, windowSeconds: 1 };

  it('grants the declared points per window to one connection, then says how long to wait', async () => {
    const limiter = createOutboundLimiter({ redis });
    const connection = `conn_${randomUUID()}`;
    for (let i = 0; i < 3; i++) expect(await limiter.take('slack', connection, hint, 0)).toBe(0);
    const wait = await limiter.take('slack', connection, hint, 0);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000);
    // Another connection has its own budget.
    expect(await limiter.take('slack', `conn_${randomUUID()}`, hint, 0)).toBe(0);
  });

  it('waits for the next window when allowed to', async () => {
    const limiter = createOutboundLimiter({ redis });
    const connection = `conn_${randomUUID()}`;
    for (let i = 0; i < 3; i++) await limiter.take('slack', connection, hint, 0);
    const started = Date.now();
    expect(await limiter.take('slack', connection, hint, 2_000)).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(0);
  });

  it('shares the budget between instances', async () => {
    if (!redis) {
      // In memory each instance counts alone, by design (one process).
      expect(createOutboundLimiter({})).toBeDefined();
      return;
    }
    const a = createOutboundLimiter({ redis });
    const b = createOutboundLimiter({ redis });
    const connection = `conn_${randomUUID()}`;
    const granted = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? a : b).take('slack', connection, hint, 0)));
    expect(granted.filter((w) => w === 0)).toHaveLength(3);
  });
});
