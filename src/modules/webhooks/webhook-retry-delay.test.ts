import { describe, expect, it } from 'vitest';
import { webhookRetryDelayMs } from './webhook-processor.js';

describe('webhookRetryDelayMs', () => {
  it('never retries sooner than 2 s, nor later than 15 min, whatever the jitter draws', () => {
    for (let draw = 0; draw < 2_000; draw++) {
      for (const attempt of [1, 2, 5, 30]) {
        const delay = webhookRetryDelayMs(attempt);
        expect(delay).toBeGreaterThanOrEqual(2_000);
        expect(delay).toBeLessThanOrEqual(15 * 60_000);
      }
    }
  });
});
