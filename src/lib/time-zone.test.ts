import { describe, expect, it } from 'vitest';
import { dateIn, isTimeZone, startOfDay, timeZoneParam } from './time-zone.js';

describe('time zones', () => {
  it('validates IANA names, remembering them', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(timeZoneParam.parse(undefined)).toBe('UTC');
    expect(timeZoneParam.safeParse('Nowhere/Else').success).toBe(false);
  });

  it('finds local midnight and the local date', () => {
    const now = new Date('2026-07-01T21:30:00Z'); // 23:30 in Paris (UTC+2), 07:30 next day in Tokyo
    expect(startOfDay(now, 'Europe/Paris').toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(startOfDay(now, 'Asia/Tokyo').toISOString()).toBe('2026-07-01T15:00:00.000Z');
    expect(startOfDay(now, 'UTC').toISOString()).toBe('2026-07-01T00:00:00.000Z');
    expect(dateIn(now, 'Asia/Tokyo')).toBe('2026-07-02');
    expect(dateIn(now, 'America/New_York')).toBe('2026-07-01');
  });
});
