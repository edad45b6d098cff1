import { describe, expect, it } from 'vitest';
import { appUrlOf, quotaSpent } from './api.js';

describe('appUrlOf', () => {
  it.each([
    ['datadoghq.com', 'https://app.datadoghq.com'],
    ['datadoghq.eu', 'https://app.datadoghq.eu'],
    ['ddog-gov.com', 'https://app.ddog-gov.com'],
    ['us3.datadoghq.com', 'https://us3.datadoghq.com'],
    ['ap1.datadoghq.com', 'https://ap1.datadoghq.com'],
    [undefined, 'https://app.datadoghq.com'],
  ])('%s → %s', (site, url) => expect(appUrlOf(site)).toBe(url));
});

describe('quotaSpent', () => {
  it('is true only when Datadog says nothing is left', () => {
    expect(quotaSpent(new Headers({ 'x-ratelimit-remaining': '0' }))).toBe(true);
    expect(quotaSpent(new Headers({ 'x-ratelimit-remaining': '3' }))).toBe(false);
    expect(quotaSpent(new Headers())).toBe(false);
  });
});
