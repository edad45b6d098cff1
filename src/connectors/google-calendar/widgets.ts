// Google Calendar widgets: today's meetings and the week's meeting load, from events.list (singleEvents).
import { z } from 'zod';
import { startOfDay, timeZoneParam } from '../../lib/time-zone.js';
import type { ProviderApi, WidgetDefinition } from '../types.js';

const EVENTS_SCOPE = 'https://www.googleapis.com/auth/calendar.events.readonly';
const MAX_PAGES = 5;
/** The most items a list widget answers (widget-data.ts). */
const LIST_LIMIT = 500;

const eventList = z.object({
  items: z
    .array(
      z.object({
        id: z.string(),
        status: z.string().optional(),
        summary: z.string().optional(),
        htmlLink: z.string().optional(),
        location: z.string().optional(),
        transparency: z.string().optional(),
        start: z.object({ dateTime: z.string().optional(), date: z.string().optional() }).optional(),
        end: z.object({ dateTime: z.string().optional(), date: z.string().optional() }).optional(),
      }),
    )
    .default([]),
  nextPageToken: z.string().optional(),
});
type CalendarEvent = z.infer<typeof eventList>['items'][number];

const params = z.object({
  calendarId: z.string().min(1).max(200).default('primary'),
  timeZone: timeZoneParam,
});


/** Events between two instants, following nextPageToken for at most MAX_PAGES pages of 250. */
async function listEvents(api: ProviderApi, calendarId: string, from: Date, to: Date): Promise<CalendarEvent[]> {
  const events: CalendarEvent[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = eventList.parse(
      await api.get(`/calendars/${encodeURIComponent(calendarId)}/events`, {
        query: { timeMin: from.toISOString(), timeMax: to.toISOString(), singleEvents: true, orderBy: 'startTime', maxResults: 250, pageToken },
      }),
    );
    events.push(...body.items);
    pageToken = body.nextPageToken;
    if (!pageToken) break;
  }
  return events.filter((e) => e.status !== 'cancelled');
}

const hoursOf = (events: CalendarEvent[]) =>
  events
    // Timed, busy events only: all-day markers and "free" blocks are not meetings.
    .filter((e) => e.start?.dateTime && e.end?.dateTime && e.transparency !== 'transparent')
    .reduce((sum, e) => sum + (Date.parse(e.end!.dateTime!) - Date.parse(e.start!.dateTime!)) / 3_600_000, 0);

export const widgets = {
  'todays-meetings': {
    title: "Today's meetings",
    description: 'Meetings on the calendar today, in order, with their times.',
    kind: 'list',
    ttlSeconds: 300,
    scopes: [EVENTS_SCOPE],
    params,
    async fetch({ params: p, api, now }) {
      const from = startOfDay(now, p.timeZone);
      const events = await listEvents(api, p.calendarId, from, new Date(from.getTime() + 86_400_000));
      // A list answers at most 500 items; the count read says how many more there were.
      return {
        ...(events.length > LIST_LIMIT ? { total: events.length } : {}),
        items: events.slice(0, LIST_LIMIT).map((e) => ({
          id: e.id,
          title: e.summary ?? '(no title)',
          ...(e.location ? { subtitle: e.location } : {}),
          ...(e.htmlLink ? { url: e.htmlLink } : {}),
          ...(e.status ? { status: e.status } : {}),
          ...(e.start?.dateTime ? { timestamp: new Date(e.start.dateTime).toISOString() } : {}),
        })),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof params>>,

  'meeting-load': {
    title: 'Meeting load this week',
    description: 'Hours in meetings over the last 7 days, against the 7 days before.',
    kind: 'metric',
    ttlSeconds: 900,
    scopes: [EVENTS_SCOPE],
    params,
    async fetch({ params: p, api, now }) {
      const end = new Date(startOfDay(now, p.timeZone).getTime() + 86_400_000);
      const week = 7 * 86_400_000;
      const [current, previous] = await Promise.all([
        listEvents(api, p.calendarId, new Date(end.getTime() - week), end),
        listEvents(api, p.calendarId, new Date(end.getTime() - 2 * week), new Date(end.getTime() - week)),
      ]);
      const hours = Math.round(hoursOf(current) * 10) / 10;
      return { value: hours, unit: 'h', label: 'Hours in meetings, last 7 days', delta: { value: Math.round((hours - hoursOf(previous)) * 10) / 10, period: 'previous 7 days' } };
    },
  } satisfies WidgetDefinition<z.infer<typeof params>>,
};
