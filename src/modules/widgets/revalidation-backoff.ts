// Background revalidations that failed, per cache key: while a provider is down, stale reads keep answering the last
// good value, and only one revalidation per key is tried per backoff window (not one per read, each with its warning).
import { ProviderError } from '../../errors.js';

export interface RevalidationBackoff {
  /** Whether a background revalidation of this key may start now. */
  mayTry(key: string): boolean;
  /** The revalidation failed: no new try before the returned time (ms). Honours the provider's Retry-After. */
  failed(key: string, error: unknown): number;
  /** The revalidation landed: the next stale read may try again at once. */
  succeeded(key: string): void;
}

const MAX_KEYS = 10_000;

/**
 * Per instance: each instance tries at most once per window; the fetch itself stays single flight across instances.
 * The window doubles with each consecutive failure of a key, from `baseMs` up to `maxMs`, and is never shorter than
 * the provider's Retry-After (a 429's, or the circuit breaker's pause).
 */
export function createRevalidationBackoff(options: { baseMs?: number; maxMs?: number; now?: () => number } = {}): RevalidationBackoff {
  const baseMs = options.baseMs ?? 15_000;
  const maxMs = options.maxMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const failures = new Map<string, { count: number; until: number }>();

  return {
    mayTry(key) {
      const entry = failures.get(key);
      return !entry || entry.until <= now();
    },
    failed(key, error) {
      const count = (failures.get(key)?.count ?? 0) + 1;
      const retryAfterMs = error instanceof ProviderError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
      const waitMs = Math.max(retryAfterMs, Math.min(maxMs, baseMs * 2 ** Math.min(count - 1, 20)));
      // Bounded: a key that keeps failing is re-inserted (kept newest); the oldest go first.
      failures.delete(key);
      if (failures.size >= MAX_KEYS) failures.delete(failures.keys().next().value!);
      const until = now() + waitMs;
      failures.set(key, { count, until });
      return until;
    },
    succeeded(key) {
      failures.delete(key);
    },
  };
}
