// Time zones for widget parameters: validation (memoized: building an Intl formatter costs ~0.2 ms, and it
// ran on every widget read) and the start of the local day.
import { z } from 'zod';

const known = new Set<string>(['UTC']);
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (formatters.size < 1000) formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(value: string): boolean {
  if (known.has(value)) return true;
  try {
    formatterOf(value);
    if (known.size < 1000) known.add(value);
    return true;
  } catch {
    return false;
  }
}

/** A widget's `timeZone` query parameter: an IANA name, UTC by default. */
export const timeZoneParam = z.string().min(1).max(64).default('UTC').refine(isTimeZone, 'an IANA time zone such as Europe/Paris');

/** Midnight in `timeZone` of the day containing `now`, as an instant. */
export function startOfDay(now: Date, timeZone: string): Date {
  const parts = Object.fromEntries(formatterOf(timeZone).formatToParts(now).map((p) => [p.type, Number(p.value)])) as Record<string, number>;
  const wallAsUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  const offsetMs = wallAsUtc - Math.floor(now.getTime() / 1000) * 1000;
  return new Date(Date.UTC(parts.year!, parts.month! - 1, parts.day!) - offsetMs);
}

/** The calendar date (YYYY-MM-DD) in `timeZone` of `now`. */
export function dateIn(now: Date, timeZone: string): string {
  const parts = Object.fromEntries(formatterOf(timeZone).formatToParts(now).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}
