// Google Calendar: the executive's meetings and meeting load, read-only.
import { defineConnector } from '../types.js';
import { hooks } from './hooks.js';
import { webhooks } from './webhooks.js';
import { widgets } from './widgets.js';

const scope = (name: string) => `https://www.googleapis.com/auth/${name}`;

export const connector = defineConnector({
  slug: 'google-calendar',
  name: 'Google Calendar',
  category: 'calendar',
  roles: ['common'],
  envPrefix: 'GOOGLE',
  docsUrl: 'https://developers.google.com/workspace/calendar/api/auth',
  auth: {
    type: 'oauth2',
    authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenUrl: 'https://oauth2.googleapis.com/token',
    revokeUrl: 'https://oauth2.googleapis.com/revoke',
    // Revoking the refresh token also kills the access tokens minted from it; no client auth needed.
    revoke: { method: 'POST', auth: 'none', bodyFormat: 'form', token: 'refresh' },
    scopes: {
      // Events and the calendar list (the primary calendar id is the account's email), nothing writable.
      default: [scope('calendar.events.readonly'), scope('calendar.calendarlist.readonly')],
      available: [
        scope('calendar.events.readonly'),
        scope('calendar.calendarlist.readonly'),
        scope('calendar.readonly'),
        scope('calendar.calendars.readonly'),
        scope('calendar.events.freebusy'),
        scope('calendar.freebusy'),
        scope('calendar.settings.readonly'),
        scope('calendar.events.owned.readonly'),
        scope('calendar.acls.readonly'),
        'openid',
        'email',
        'profile',
      ],
      separator: ' ',
    },
    pkce: true,
    clientAuth: 'body',
    tokenBodyFormat: 'form',
    // Without offline access there is no refresh token; without consent Google omits it on a second grant.
    authorizeParams: { access_type: 'offline', prompt: 'consent' },
    refresh: 'static',
  },
  api: {
    baseUrl: 'https://www.googleapis.com/calendar/v3',
    // 600 requests per minute per user per project.
    rateLimit: { points: 600, windowSeconds: 60 },
  },
  widgets,
  hooks,
  webhooks,
});
