// Google Calendar provider code: the account is the primary calendar, whose id is the user's email.
import { z } from 'zod';
import type { ConnectorHooks } from '../types.js';

const primaryCalendar = z.object({ id: z.string().min(1), summary: z.string().optional() });

export const hooks: ConnectorHooks = {
  async afterConnect({ tokens, http, endpoints }) {
    const body = await http.json(`${endpoints.apiBaseUrl}/users/me/calendarList/primary`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    const calendar = primaryCalendar.parse(body);
    return {
      id: calendar.id,
      name: calendar.summary ?? calendar.id,
      metadata: { email: calendar.id },
      routingKeys: [`calendar:${calendar.id.toLowerCase()}`],
    };
  },
};
