// Teams / Outlook calendar widgets: today's meetings and the week's meeting load, from /me/calendarView.
import { z } from 'zod';
import type { ProviderApi, WidgetDefinition } from '../types.js';
import { UTC_TIMES, graphUtcTime, startOfDay, timeZoneParam, walkCollection } from './graph.js';

/** 5 pages of 100 events per window: more than any calendar holds in a week. */
const MAX_PAGES = 5;
const PAGE_SIZE = 100;
const DAY_MS = 86_400_000;

const event = z.object({
  id: z.string(),
  subject: z.string().nullish(),
  start: graphUtcTime,
  end: graphUtcTime,
  isAllDay: z.boolean().optional(),
  isCancelled: z.boolean().optional(),
  showAs: z.string().optional(),
  webLink: z.string().nullish(),
  location: z.object({ displayName: z.string().nullish() }).nullish(),
  isOnlineMeeting: z.boolean().optional(),
  onlineMeeting: z.object({ joinUrl: z.string().nullish() }).nullish(),
});
type CalendarEvent = z.infer<typeof event>;

const params = z.object({ timeZone: timeZoneParam });

/** Timed, not cancelled events overlapping [from, to), in start order (calendarView expands recurrences). */
async function eventsBetween(api: ProviderApi, from: Date, to: Date): Promise<CalendarEvent[]> {
  const events: CalendarEvent[] = [];
  await walkCollection(
    api,
    '/me/calendarView',
    {
      query: {
        startDateTime: from.toISOString(),
        endDateTime: to.toISOString(),
        $select: 'subject,start,end,isAllDay,isCancelled,showAs,webLink,location,isOnlineMeeting,onlineMeeting',
        $orderby: 'start/dateTime',
        $top: PAGE_SIZE,
      },
      headers: UTC_TIMES,
    },
    event,
    MAX_PAGES,
    (page) => {
      events.push(...page);
      return true;
    },
  );
  // All-day entries (holidays, out-of-office markers) are not meetings.
  return events.filter((e) => !e.isCancelled && !e.isAllDay);
}

const hoursOf = (events: CalendarEvent[]) =>
  events.filter((e) => e.showAs !== 'free').reduce((sum, e) => sum + (e.end.getTime() - e.start.getTime()) / 3_600_000, 0);
const tenths = (n: number) => Math.round(n * 10) / 10;

export const calendarWidgets = {
  'todays-meetings': {
    title: "Today's meetings",
    description: 'Meetings on the Outlook / Teams calendar today, in order, with join links for online ones.',
    kind: 'list',
    ttlSeconds: 300,
    scopes: ['Calendars.Read'],
    params,
    async fetch({ params: p, api, now }) {
      const from = startOfDay(now, p.timeZone);
      const events = await eventsBetween(api, from, new Date(from.getTime() + DAY_MS));
      return {
        items: events.map((e) => {
          const url = e.onlineMeeting?.joinUrl ?? e.webLink;
          const where = e.location?.displayName || (e.isOnlineMeeting ? 'Teams meeting' : undefined);
          return {
            id: e.id.slice(0, 500),
            title: (e.subject || '(no title)').slice(0, 1000),
            ...(where ? { subtitle: where.slice(0, 1000) } : {}),
            ...(url && URL.canParse(url) ? { url } : {}),
            ...(e.showAs ? { status: e.showAs } : {}),
            timestamp: e.start.toISOString(),
          };
        }),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof params>>,

  'meeting-load': {
    title: 'Meeting load this week',
    description: 'Hours in meetings over the last 7 days, against the 7 days before.',
    kind: 'metric',
    ttlSeconds: 900,
    scopes: ['Calendars.Read'],
    params,
    async fetch({ params: p, api, now }) {
      const end = new Date(startOfDay(now, p.timeZone).getTime() + DAY_MS);
      const week = 7 * DAY_MS;
      const [current, previous] = await Promise.all([
        eventsBetween(api, new Date(end.getTime() - week), end),
        eventsBetween(api, new Date(end.getTime() - 2 * week), new Date(end.getTime() - week)),
      ]);
      const hours = tenths(hoursOf(current));
      return { value: hours, unit: 'h', label: 'Hours in meetings, last 7 days', delta: { value: tenths(hours - hoursOf(previous)), period: 'previous 7 days' } };
    },
  } satisfies WidgetDefinition<z.infer<typeof params>>,
};
