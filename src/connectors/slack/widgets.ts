// Slack widgets with the default bot scopes: how many people are active in the workspace, and its largest channels.
import { z } from 'zod';
import type { ProviderApi, WidgetDefinition } from '../types.js';
import { responseMetadata, slackGet } from './web-api.js';

/** users.list and conversations.list are Tier 2 (20+/min): ten pages of 200 is half a minute's budget. */
const MAX_PAGES = 10;
const PAGE_SIZE = 200;

const member = z.object({
  id: z.string(),
  deleted: z.boolean().optional(),
  is_bot: z.boolean().optional(),
  is_app_user: z.boolean().optional(),
  // Multi-channel (restricted) and single-channel (ultra restricted) guests.
  is_restricted: z.boolean().optional(),
  is_ultra_restricted: z.boolean().optional(),
});
const usersPage = z.object({ members: z.array(member).default([]), response_metadata: responseMetadata });

const channel = z.object({
  id: z.string(),
  name: z.string(),
  is_archived: z.boolean().optional(),
  num_members: z.number().int().nonnegative().optional(),
  topic: z.object({ value: z.string() }).nullish(),
  purpose: z.object({ value: z.string() }).nullish(),
});
const channelsPage = z.object({ channels: z.array(channel).default([]), response_metadata: responseMetadata });
type Channel = z.infer<typeof channel>;

/** Every item of a cursor-paged Web API list, up to MAX_PAGES pages; `complete` is false when the bound cut it short. */
async function listAll<T>(api: ProviderApi, method: string, query: Record<string, string | number | boolean>, read: (page: unknown) => { items: T[]; next?: string }) {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { items: batch, next } = read(await slackGet(api, method, { ...query, limit: PAGE_SIZE, cursor }, z.unknown()));
    items.push(...batch);
    cursor = next || undefined;
    if (!cursor) return { items, complete: true };
  }
  return { items, complete: false };
}

const noParams = z.object({});
const topChannelsParams = z.object({ limit: z.coerce.number().int().min(1).max(50).default(10) });

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export const widgets = {
  'active-members': {
    title: 'Active members',
    description: 'People in the workspace: full members, not counting guests, bots or deactivated accounts.',
    kind: 'metric',
    ttlSeconds: 3600,
    scopes: ['users:read'],
    params: noParams,
    async fetch({ api }) {
      const { items, complete } = await listAll(api, 'users.list', {}, (page) => {
        const p = usersPage.parse(page);
        return { items: p.members, next: p.response_metadata?.next_cursor };
      });
      // Slackbot is a member that is not flagged as a bot.
      const people = items.filter((m) => !m.deleted && !m.is_bot && !m.is_app_user && m.id !== 'USLACKBOT');
      const guests = people.filter((m) => m.is_restricted || m.is_ultra_restricted).length;
      const label = `Active members${guests ? `, besides ${guests} guest${guests === 1 ? '' : 's'}` : ''}${complete ? '' : ` (first ${MAX_PAGES * PAGE_SIZE} accounts)`}`;
      return { value: people.length - guests, label, delta: null };
    },
  } satisfies WidgetDefinition<z.infer<typeof noParams>>,

  'top-channels': {
    title: 'Largest channels',
    description: 'Public channels with the most members.',
    kind: 'list',
    ttlSeconds: 1800,
    scopes: ['channels:read'],
    params: topChannelsParams,
    async fetch({ params, api, metadata }) {
      const { items } = await listAll<Channel>(api, 'conversations.list', { types: 'public_channel', exclude_archived: true }, (page) => {
        const p = channelsPage.parse(page);
        return { items: p.channels, next: p.response_metadata?.next_cursor };
      });
      const open = items.filter((c) => !c.is_archived);
      const ranked = open.sort((a, b) => (b.num_members ?? 0) - (a.num_members ?? 0) || a.name.localeCompare(b.name)).slice(0, params.limit);
      return {
        items: ranked.map((c) => {
          const about = c.topic?.value || c.purpose?.value;
          const members = c.num_members ?? 0;
          return {
            id: c.id,
            title: `#${c.name}`,
            subtitle: truncate(`${members} member${members === 1 ? '' : 's'}${about ? ` · ${about}` : ''}`, 1000),
            // An org-wide (Enterprise Grid) install has no single team to open the channel in.
            ...(metadata.teamId ? { url: `https://app.slack.com/client/${encodeURIComponent(metadata.teamId)}/${encodeURIComponent(c.id)}` } : {}),
          };
        }),
        total: open.length,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof topChannelsParams>>,
};
