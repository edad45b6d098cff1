// Asana provider code: the connecting user is the account; their workspaces come from GET /users/me, since
// the token answer names only the user (`data: { gid, name, email }`).
import { z } from 'zod';
import type { ConnectorHooks } from '../types.js';

const me = z.object({
  data: z.object({
    gid: z.string().min(1),
    name: z.string().optional(),
    email: z.string().optional(),
    workspaces: z.array(z.object({ gid: z.string().min(1), name: z.string().optional() })).default([]),
  }),
});

export const hooks: ConnectorHooks = {
  async afterConnect({ tokens, http, endpoints }) {
    const body = await http.json(`${endpoints.apiBaseUrl}/users/me?opt_fields=name,email,workspaces.name`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    const user = me.parse(body).data;
    const metadata: Record<string, string> = { userGid: user.gid };
    if (user.email) metadata.email = user.email;
    // Widget calls are per workspace (task search, goals); the first is the default, all are kept.
    if (user.workspaces.length) {
      metadata.workspaceGid = user.workspaces[0]!.gid;
      metadata.workspaceGids = user.workspaces.map((w) => w.gid).join(',');
    }
    return {
      id: user.gid,
      name: user.name ?? user.email ?? user.gid,
      metadata,
      // Asana's webhook events carry no workspace; they are routed by the target URL. These keys serve
      // lookups by the user or workspace gids that events do name (event.user, resource parents).
      routingKeys: [`user:${user.gid}`, ...user.workspaces.map((w) => `workspace:${w.gid}`)],
    };
  },
};
