import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import { createRevalidationBackoff } from './revalidation-backoff.js';

describe('revalidation backoff', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('lets a key try again only after its window, doubling per consecutive failure up to the cap', () => {
    const c = clock();
    const b = createRevalidationBackoff({ baseMs: 1_000, maxMs: 5_000, now: c.now });
    expect(b.mayTry('k')).toBe(true);
    expect(b.failed('k', new Error('down'))).toBe(c.now() + 1_000);
    expect(b.mayTry('k')).toBe(false);
    expect(b.mayTry('other')).toBe(true);
    c.advance(999);
    expect(b.mayTry('k')).toBe(false);
    c.advance(1);
    expect(b.mayTry('k')).toBe(true);
    expect(b.failed('k', new Error('down'))).toBe(c.now() + 2_000);
    expect(b.failed('k', new Error('down'))).toBe(c.now() + 4_000);
    expect(b.failed('k', new Error('down'))).toBe(c.now() + 5_000);
    expect(b.failed('k', new Error('down'))).toBe(c.now() + 5_000);
  });

  it('waits at least the provider’s Retry-After', () => {
    const c = clock();
    const b = createRevalidationBackoff({ baseMs: 1_000, maxMs: 5_000, now: c.now });
    const limited = new ProviderError('google-calendar', 429, 'rate_limited', 'slow down', { retryAfterSeconds: 30 });
    expect(b.failed('k', limited)).toBe(c.now() + 30_000);
  });

  it('forgets a key once its revalidation lands', () => {
    const c = clock();
    const b = createRevalidationBackoff({ baseMs: 1_000, maxMs: 5_000, now: c.now });
    b.failed('k', new Error('down'));
    b.failed('k', new Error('down'));
    b.succeeded('k');
    expect(b.mayTry('k')).toBe(true);
    expect(b.failed('k', new Error('down'))).toBe(c.now() + 1_000);
  });
});
