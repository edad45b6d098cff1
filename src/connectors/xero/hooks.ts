// Xero provider code: the tenant (organisation) comes from GET /connections, matched to the grant's auth event.
import { AppError } from '../../errors.js';
import type { ConnectorHooks } from '../types.js';
import { authEventIdOf, pickTenant, xeroConnectionsSchema } from './tenant.js';

export const hooks: ConnectorHooks = {
  async afterConnect({ tokens, http, endpoints }) {
    // /connections sits at the root of api.xero.com, outside the accounting base (…/api.xro/2.0): taking the
    // base's origin keeps XERO_API_URL (regional proxies, the tests' fake) in charge of where it goes.
    const url = `${new URL(endpoints.apiBaseUrl).origin}/connections`;
    const connections = xeroConnectionsSchema.parse(
      await http.json(url, { headers: { authorization: `Bearer ${tokens.accessToken}` } }),
    );
    const tenant = pickTenant(connections, authEventIdOf(tokens.accessToken));
    return {
      id: tenant.tenantId,
      name: tenant.tenantName ?? tenant.tenantId,
      // Every API call sends Xero-tenant-id; the connection id disconnects this one tenant only.
      metadata: {
        tenantId: tenant.tenantId,
        xeroConnectionId: tenant.id,
        ...(tenant.tenantType ? { tenantType: tenant.tenantType } : {}),
      },
      // Xero webhook events carry tenantId.
      routingKeys: [`tenant:${tenant.tenantId}`],
    };
  },

  apiHeaders(credentials, metadata): Record<string, string> {
    // One token may reach several organisations: every call names the tenant it reads.
    const tenantId = metadata.tenantId;
    if (!tenantId) throw new AppError('reauth_required', 'The Xero connection names no organisation; reconnect it.');
    if (credentials.type !== 'oauth2') return {};
    // Xero answers XML unless asked for JSON.
    return { authorization: `Bearer ${credentials.tokens.accessToken}`, 'xero-tenant-id': tenantId, accept: 'application/json' };
  },
};
