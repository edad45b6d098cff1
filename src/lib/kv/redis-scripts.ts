// The Lua scripts behind the store's owner-checked and create-once operations, run by EVALSHA with an EVAL fallback.
// A script runs atomically on the server: no other client's command lands between its read and its write.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

export function defineScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** KEYS[1] lock, ARGV[1] owner, ARGV[2] ttl ms → 1 when the owner still held it and its TTL was reset, else 0. */
export const extendLock = defineScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`);

/** KEYS[1] lock, ARGV[1] owner → 1 when the owner still held it and it is now deleted, else 0. */
export const releaseLock = defineScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/**
 * KEYS[1] counter, ARGV[1] ttl ms → the new count. The TTL is set only while the key has none, so a fixed
 * window is never pushed forward by later increments; INCR and PEXPIRE in one script means a crash between
 * them cannot leave a counter that never expires.
 */
export const incrWithTtl = defineScript(`
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count`);

/**
 * KEYS[1] history stream, ARGV[1] channel, ARGV[2] message, ARGV[3] oldest id to keep, ARGV[4] max length,
 * ARGV[5] ttl ms → the new entry's id. Append and publish in one script: ids follow publish order. Trimming is
 * exact: histories are short, and a reader must never see more than it was promised.
 */
export const publishWithHistory = defineScript(`
local id = redis.call('XADD', KEYS[1], 'MINID', ARGV[3], '*', 'm', ARGV[2])
redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[2])
return id`);

/** Runs a script by its hash; loads it with EVAL the first time a server has not seen it (NOSCRIPT). */
export async function runScript(client: Redis, script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(script.lua, keys.length, ...keys, ...args);
  }
}
