// The outbound limiter: each connection's calls to its provider stay under the connector's declared limit,
// shared by every instance through Redis, so the hub throttles itself before the provider does.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitHint } from '../../connectors/types.js';
import { rateLimitPrefix } from '../../lib/kv-keys.js';

export interface OutboundLimiter {
  /** Waits for a slot up to `maxWaitMs`; returns 0 when granted, else the ms until one frees. */
  take(slug: string, connectionId: string, hint: RateLimitHint, maxWaitMs: number): Promise<number>;
}

export function createOutboundLimiter(deps: { redis?: Redis }): OutboundLimiter {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterFor = (slug: string, hint: RateLimitHint) => {
    const key = `${slug}:${hint.points}:${hint.windowSeconds}`;
    let limiter = limiters.get(key);
    if (!limiter) {
      const options = { points: hint.points, duration: hint.windowSeconds, keyPrefix: `${rateLimitPrefix('outbound')}:${slug}` };
      limiter = deps.redis
        ? new RateLimiterRedis({ ...options, storeClient: deps.redis, insuranceLimiter: new RateLimiterMemory(options) })
        : new RateLimiterMemory(options);
      limiters.set(key, limiter);
    }
    return limiter;
  };

  return {
    async take(slug, connectionId, hint, maxWaitMs) {
      const limiter = limiterFor(slug, hint);
      const deadline = Date.now() + maxWaitMs;
      for (;;) {
        try {
          await limiter.consume(connectionId);
          return 0;
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection;
          const wait = rejection.msBeforeNext;
          if (Date.now() + wait > deadline) return Math.max(1, wait);
          await new Promise((r) => setTimeout(r, wait));
        }
      }
    },
  };
}
