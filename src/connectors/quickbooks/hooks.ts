// QuickBooks Online provider code: the company (realmId) arrives on the callback query; its name comes from CompanyInfo.
import { z } from 'zod';
import type { ConnectorHooks } from '../types.js';

/** Realm ids are numeric; the value goes into URL paths and came through the browser, so nothing else passes. */
export const realmIdSchema = z.string().regex(/^\d{1,32}$/, 'realmId must be numeric');

const companyInfoSchema = z.object({
  CompanyInfo: z.object({
    CompanyName: z.string().min(1),
    LegalName: z.string().nullish(),
  }),
});

/** QBO silently answers minor versions below 75 as 75: ask for it explicitly. */
export const QBO_MINOR_VERSION = '75';

export const hooks: ConnectorHooks = {
  async afterConnect({ tokens, callbackQuery, http, endpoints }) {
    const realmId = realmIdSchema.parse(callbackQuery.realmId);
    // Intuit's token answer does not name the company, and the query value is only what the browser carried:
    // reading the company with the new token proves the grant reaches that realm before we store it.
    const body = await http.json(
      `${endpoints.apiBaseUrl}/v3/company/${realmId}/companyinfo/${realmId}?minorversion=${QBO_MINOR_VERSION}`,
      { headers: { authorization: `Bearer ${tokens.accessToken}` } },
    );
    const info = companyInfoSchema.parse(body).CompanyInfo;
    return {
      id: realmId,
      name: info.CompanyName,
      metadata: { realmId },
      // Intuit webhooks name the company by realmId (legacy eventNotifications[].realmId).
      routingKeys: [`realm:${realmId}`],
    };
  },

  apiHeaders(credentials): Record<string, string> {
    // QBO answers XML unless asked for JSON.
    if (credentials.type !== 'oauth2') return {};
    return { authorization: `Bearer ${credentials.tokens.accessToken}`, accept: 'application/json' };
  },
};
