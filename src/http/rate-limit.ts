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
  /**
   * Spends a point this instance already holds for the key (from a lease), setting the headers, without waiting on
   * anything. False when it holds none: then consume.
   */
  spendHeld(bucket: InboundBucket, key: string, reply: FastifyReply): boolean;
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

interface Lease {
  /** Points taken from the shared bucket and not yet used by this instance. */
  left: number;
  /** The shared bucket's remaining points when the lease was taken. */
  sharedRemaining: number;
  resetAt: number;
}

/**
 * Points are taken from the shared (Redis) bucket in leases of `leaseSize`, then spent locally, so a busy caller
 * costs one Redis call per lease instead of one per request. Near the limit (fewer points left than a lease)
 * it takes single points, so the limit holds exactly for one instance and to within a lease per instance.
 */
function createLeasedConsumer(limiter: RateLimiterAbstract, leaseSize: number) {
  const leases = new Map<string, Lease>();
  // One lease request per key at a time: concurrent first requests wait for it instead of each taking a lease.
  const pending = new Map<string, Promise<unknown>>();

  /** A point from the key's current lease: the lease, spent from, or undefined when it has none left. */
  function spendHeld(key: string, now: number): Lease | undefined {
    const lease = leases.get(key);
    if (!lease || lease.left <= 0 || lease.resetAt <= now) return undefined;
    lease.left--;
    return lease;
  }

  const consume = async (key: string): Promise<RateLimiterRes> => {
    for (let round = 0; round < 3; round++) {
      const now = Date.now();
      const held = spendHeld(key, now);
      if (held) return new RateLimiterRes(held.sharedRemaining + held.left, held.resetAt - now, 0, false);
      const lease = leases.get(key);
      const inflight = pending.get(key);
      if (inflight) {
        await inflight.catch(() => undefined);
        continue;
      }
      const take = lease && lease.resetAt > now && lease.sharedRemaining < leaseSize ? 1 : leaseSize;
      if (leases.size > 50_000) leases.clear();
      const request = limiter.consume(key, take).then((res) => {
        leases.set(key, { left: take, sharedRemaining: res.remainingPoints, resetAt: Date.now() + res.msBeforeNext });
      });
      pending.set(key, request);
      try {
        await request;
      } finally {
        pending.delete(key);
      }
    }
    // Still nothing after a few rounds (a burst ate every lease): one point straight from the shared bucket.
    return limiter.consume(key, 1);
  };
  return { consume, spendHeld };
}

export function createInboundRateLimiter(deps: {
  redis?: Redis;
  limits: { perTokenPerMinute: number; perIpPerMinute: number };
}): InboundRateLimiter {
  interface Bucket {
    consume: (key: string) => Promise<RateLimiterRes>;
    spendHeld?: (key: string, now: number) => Lease | undefined;
    points: number;
  }
  const bucket = (points: number, prefix: string): Bucket => {
    const limiter = createLimiter(points, prefix, deps.redis);
    // Leased in memory too: there a lease saves no round trip, but points held let a request pass without a promise
    // (spendHeld), and for one instance the count stays exact.
    const leaseSize = Math.max(1, Math.floor(points / 60));
    return leaseSize > 1 ? { ...createLeasedConsumer(limiter, leaseSize), points } : { consume: (key: string) => limiter.consume(key), points };
  };
  const limiters: Record<InboundBucket, Bucket> = {
    token: bucket(deps.limits.perTokenPerMinute, rateLimitPrefix('inbound-token')),
    ip: bucket(deps.limits.perIpPerMinute, rateLimitPrefix('inbound-ip')),
  };

  // Names in lower case: Fastify lower-cases every name it is given (a new string per call otherwise).
  function setHeaders(reply: FastifyReply, points: number, remaining: number, msBeforeNext: number) {
    void reply.header('ratelimit-limit', points);
    void reply.header('ratelimit-remaining', Math.max(0, remaining));
    void reply.header('ratelimit-reset', Math.ceil(msBeforeNext / 1000));
  }

  return {
    spendHeld(bucket, key, reply) {
      const { spendHeld, points } = limiters[bucket];
      const now = Date.now();
      const lease = spendHeld?.(key, now);
      if (!lease) return false;
      setHeaders(reply, points, lease.sharedRemaining + lease.left, lease.resetAt - now);
      return true;
    },
    async consume(bucket, key, reply) {
      const { consume, points } = limiters[bucket];
      try {
        const res = await consume(key);
        setHeaders(reply, points, res.remainingPoints, res.msBeforeNext);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        setHeaders(reply, points, rejection.remainingPoints, rejection.msBeforeNext);
        const retryAfter = String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw new AppError('rate_limited', `Too many requests; retry in ${retryAfter} s.`, { headers: { 'Retry-After': retryAfter } });
      }
    },
  };
}
