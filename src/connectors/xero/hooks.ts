// Xero provider code: the tenant (organisation) comes from GET /connections, matched to the grant's auth event.
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
};
