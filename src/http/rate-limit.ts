// Inbound rate limiting (rate-limiter-flexible): a bucket per caller token, and per IP for anonymous calls.
// Redis-backed when REDIS_URL is set so all instances share the buckets; in-memory otherwise.
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors.js';
import { rateLimitPrefix } from '../lib/kv-keys.js';

export type InboundBucket = 'token' | 'ip';

export interface InboundRateLimiter {
  /** Consumes one point; sets the RateLimit-* headers; throws AppError('rate_limited') with Retry-After when empty. */
  consume(bucket: InboundBucket, key: string, reply: FastifyReply): Promise<void>;
}

function createLimiter(points: number, keyPrefix: string, redis?: Redis): RateLimiterAbstract {
  const options = { points, duration: 60, keyPrefix };
  if (!redis) return new RateLimiterMemory(options);
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    // Once a caller is over the limit, answer from memory until the window ends: no Redis call per rejected request.
    inMemoryBlockOnConsumed: points,
    // If Redis fails, limit per instance rather than fail every request.
    insuranceLimiter: new RateLimiterMemory(options),
  });
}

export function createInboundRateLimiter(deps: {
  redis?: Redis;
  limits: { perTokenPerMinute: number; perIpPerMinute: number };
}): InboundRateLimiter {
  const limiters: Record<InboundBucket, { limiter: RateLimiterAbstract; points: number }> = {
    token: { limiter: createLimiter(deps.limits.perTokenPerMinute, rateLimitPrefix('inbound-token'), deps.redis), points: deps.limits.perTokenPerMinute },
    ip: { limiter: createLimiter(deps.limits.perIpPerMinute, rateLimitPrefix('inbound-ip'), deps.redis), points: deps.limits.perIpPerMinute },
  };

  function setHeaders(reply: FastifyReply, points: number, res: RateLimiterRes) {
    void reply.header('RateLimit-Limit', points);
    void reply.header('RateLimit-Remaining', Math.max(0, res.remainingPoints));
    void reply.header('RateLimit-Reset', Math.ceil(res.msBeforeNext / 1000));
  }

  return {
    async consume(bucket, key, reply) {
      const { limiter, points } = limiters[bucket];
      try {
        setHeaders(reply, points, await limiter.consume(key));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        setHeaders(reply, points, rejection);
        const retryAfter = String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw new AppError('rate_limited', `Too many requests; retry in ${retryAfter} s.`, { headers: { 'Retry-After': retryAfter } });
      }
    },
  };
}
