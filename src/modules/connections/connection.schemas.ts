// The public view of a connection: what a dashboard may see. Never tokens, ciphertext or secrets.
import { z } from 'zod';

export const connectionStatus = z.enum(['active', 'refreshing', 'needs_reauth', 'error', 'disconnected']);

export const connectionView = z
  .object({
    id: z.string(),
    slug: z.string(),
    status: connectionStatus,
    account: z.object({ id: z.string().nullable(), name: z.string().nullable() }),
    scopes: z.array(z.string()),
    connectedAt: z.iso.datetime().nullable(),
    expiresAt: z.iso.datetime().nullable(),
    lastRefreshedAt: z.iso.datetime().nullable(),
    lastSyncedAt: z.iso.datetime().nullable(),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'Connection' });

export type ConnectionView = z.infer<typeof connectionView>;

export const workspaceParams = z.object({
  workspaceId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
});

export const connectionParams = workspaceParams.extend({
  integrationId: z.string().min(1).max(64),
});

export const connectionListResponse = z.object({ integrations: z.array(connectionView) });
export const connectionResponse = z.object({ integration: connectionView });
