// When to try a failed refresh again: exponential with decorrelated jitter (cockatiel), capped.
import { ExponentialBackoff } from 'cockatiel';

const REFRESH_BACKOFF = new ExponentialBackoff({ initialDelay: 15_000, maxDelay: 30 * 60_000 });

/** Delay before attempt `failures + 1`, in ms. */
export function refreshRetryDelayMs(failures: number): number {
  let backoff = REFRESH_BACKOFF.next();
  for (let i = 1; i < Math.min(failures, 20); i++) backoff = backoff.next(undefined);
  return backoff.duration;
}
