// One check for TTL arguments, shared by both stores, so a bad TTL fails the same way on a laptop and in production.

/** A TTL in whole milliseconds (fractions round up); throws RangeError unless it is finite and positive. */
export function checkTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}

/** Refuses the empty prefix: deleting every key in the store is never what a caller of delByPrefix means. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') throw new RangeError('delByPrefix needs a non-empty prefix');
  return prefix;
}

/** Refuses a key outside a near reader's prefix: only keys under it are announced, so only those may be kept. */
export function checkUnder(prefix: string, key: string): string {
  if (!key.startsWith(prefix)) throw new RangeError(`near reader for '${prefix}' asked for a key outside it`);
  return key;
}
