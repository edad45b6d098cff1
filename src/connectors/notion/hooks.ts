// Notion provider code: the workspace named in the token answer is the account; Notion's API error envelope.
import { z } from 'zod';
import type { ConnectorHooks } from '../types.js';

/** The token answer's account fields (code exchange; a refresh repeats them). */
const notionTokenAnswer = z.object({
  bot_id: z.string().min(1),
  workspace_id: z.string().min(1),
  workspace_name: z.string().nullish(),
  owner: z
    .object({ type: z.enum(['user', 'workspace']), user: z.object({ id: z.string().min(1) }).optional() })
    .optional(),
  duplicated_template_id: z.string().nullish(),
});

/**
 * The API version every call names. 2025-09-03 is the first with data sources (`/v1/data_sources/{id}/query`,
 * search filtering on `page` / `data_source`), which the widgets use.
 */
export const NOTION_VERSION = '2025-09-03';

/** Notion's API errors: `{ object: "error", status, code, message }` rather than RFC 6749's `error`. */
const notionApiError = z.object({ object: z.literal('error'), code: z.string().min(1), message: z.string().optional() });

export const hooks: ConnectorHooks = {
  /**
   * The token endpoint answers OAuth errors in RFC 6749 form (`{"error":"invalid_grant"}`), but may carry
   * Notion's own envelope with the code in `code`; the standard reading would see only `http_400` there and
   * miss a dead grant.
   */
  parseTokenResponse({ status, body }) {
    const apiError = notionApiError.safeParse(body);
    if (!apiError.success || typeof body.error === 'string') return undefined;
    return { ok: false, status, error: apiError.data.code, description: apiError.data.message };
  },

  async afterConnect({ raw }) {
    const answer = notionTokenAnswer.parse(raw);
    const metadata: Record<string, string> = { workspaceId: answer.workspace_id, botId: answer.bot_id };
    if (answer.workspace_name) metadata.workspaceName = answer.workspace_name;
    if (answer.owner) metadata.ownerType = answer.owner.type;
    if (answer.owner?.user) metadata.ownerUserId = answer.owner.user.id;
    if (answer.duplicated_template_id) metadata.duplicatedTemplateId = answer.duplicated_template_id;
    return {
      id: answer.workspace_id,
      name: answer.workspace_name ?? answer.workspace_id,
      metadata,
      // Webhook events name the workspace (workspace_id); routing on the bot would miss reconnects.
      routingKeys: [`workspace:${answer.workspace_id}`],
    };
  },

  // Notion refuses any API call that does not say which version of the API it speaks.
  apiHeaders(credentials) {
    const headers: Record<string, string> = { 'notion-version': NOTION_VERSION };
    if (credentials.type === 'oauth2') headers.authorization = `Bearer ${credentials.tokens.accessToken}`;
    return headers;
  },
};
