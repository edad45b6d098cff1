// Asana webhooks for one connection: one per workspace, on the user's "My Tasks" list, delivering to the
// connection's own URL. Asana's handshake happens inside the create call (the route echoes X-Hook-Secret and the
// hub keeps that secret); the webhooks do not expire, and are deleted on disconnect.
import { z } from 'zod';
import type { WebhookSubscriptionHooks } from '../webhook-types.js';

/**
 * Task events only. Workspace- and team-scoped webhooks refuse task filters
 * (`invalid_filters_for_larger_scoped_webhooks`), so the webhook sits on the user task list, where task events
 * arrive; `changed` is narrowed to the fields the task widgets show.
 */
export const TASK_FILTERS = [
  { resource_type: 'task', action: 'added' },
  { resource_type: 'task', action: 'removed' },
  { resource_type: 'task', action: 'deleted' },
  { resource_type: 'task', action: 'undeleted' },
  { resource_type: 'task', action: 'changed', fields: ['completed', 'due_on', 'due_at', 'name', 'assignee'] },
];

const userTaskList = z.object({ data: z.object({ gid: z.string().min(1) }) });
const created = z.object({ data: z.object({ gid: z.string().min(1) }) });

const SCOPES = ['webhooks:write', 'webhooks:delete'];

export const asanaWebhookSubscriptions: WebhookSubscriptionHooks = {
  // Requested on connect when the hub manages subscriptions; a connection made without them gets none.
  scopes: SCOPES,

  async plan(ctx) {
    if (!SCOPES.every((s) => ctx.scopes.includes(s))) return [];
    const workspaces = (ctx.metadata.workspaceGids ?? ctx.metadata.workspaceGid ?? '').split(',').filter(Boolean);
    const plans = [];
    for (const workspace of workspaces) {
      const list = userTaskList.parse(await ctx.api.get('/users/me/user_task_list', { query: { workspace, opt_fields: 'gid' } }));
      plans.push({ resource: list.data.gid });
    }
    return plans;
  },

  async create(ctx, state) {
    // Answers only after Asana's handshake POST to the target has been echoed (the route keeps the secret then).
    const body = created.parse(
      await ctx.api.post('/webhooks', { data: { resource: state.resource, target: ctx.connectionWebhookUrl, filters: TASK_FILTERS } }),
    );
    return { externalId: body.data.gid, expiresAt: null };
  },

  // No `renew`: Asana webhooks do not expire.

  async remove(ctx, state) {
    await ctx.api.request('DELETE', `/webhooks/${encodeURIComponent(state.externalId ?? '')}`);
  },
};
