// Teams chat widget: the chats with the latest messages, from /me/chats with each chat's last message preview.
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { walkCollection } from './graph.js';

/** $top is at most 50 for chats: 4 pages cover the 200 most recently active chats. */
const MAX_PAGES = 4;
const PAGE_SIZE = 50;

const chat = z.object({
  id: z.string(),
  topic: z.string().nullish(),
  chatType: z.string(),
  webUrl: z.string().nullish(),
  lastMessagePreview: z
    .object({
      createdDateTime: z.iso.datetime({ offset: true }),
      isDeleted: z.boolean().nullish(),
      messageType: z.string().nullish(),
      body: z.object({ contentType: z.string().nullish(), content: z.string().nullish() }).nullish(),
      from: z.object({ user: z.object({ id: z.string().nullish(), displayName: z.string().nullish() }).nullish() }).nullish(),
    })
    .nullish(),
});
type Chat = z.infer<typeof chat>;

const params = z.object({
  days: z.coerce.number().int().min(1).max(30).default(7),
  limit: z.coerce.number().int().min(1).max(50).default(10),
});

const CHAT_TYPES: Record<string, string> = { oneOnOne: '1:1 chat', group: 'Group chat', meeting: 'Meeting chat' };

/** The text of a message body: HTML bodies lose their tags and entities, whitespace collapses. */
export function plainText(content: string, contentType?: string | null): string {
  const text = contentType === 'html' ? content.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&') : content;
  return text.replace(/\s+/g, ' ').trim();
}

const shorten = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function titleOf(c: Chat, me: string | undefined): string {
  if (c.topic) return c.topic;
  const sender = c.lastMessagePreview?.from?.user;
  // Without a topic a 1:1 chat is best named after the other person, when the last word was theirs.
  if (c.chatType === 'oneOnOne' && sender?.displayName && sender.id !== me) return sender.displayName;
  return CHAT_TYPES[c.chatType] ?? 'Chat';
}

function previewOf(c: Chat): string | undefined {
  const m = c.lastMessagePreview;
  if (!m) return undefined;
  if (m.isDeleted) return 'Message deleted';
  if (m.messageType && m.messageType !== 'message') return undefined;
  const text = plainText(m.body?.content ?? '', m.body?.contentType);
  const who = m.from?.user?.displayName;
  return text ? shorten(who ? `${who}: ${text}` : text, 200) : undefined;
}

export const chatWidgets = {
  'recent-chats': {
    title: 'Recent chats',
    description: 'Teams chats with the latest messages, each with a preview of its last message.',
    kind: 'list',
    ttlSeconds: 120,
    // Chat.ReadBasic names chats but not their messages: the last message preview needs Chat.Read.
    scopes: ['Chat.Read'],
    params,
    async fetch({ params: p, api, metadata, now }) {
      const since = now.getTime() - p.days * 86_400_000;
      const recent: Chat[] = [];
      await walkCollection(
        api,
        '/me/chats',
        { query: { $expand: 'lastMessagePreview', $orderby: 'lastMessagePreview/createdDateTime desc', $top: PAGE_SIZE } },
        chat,
        MAX_PAGES,
        (page) => {
          for (const c of page) {
            // Chats without messages have no preview; they never count as recent.
            if (!c.lastMessagePreview) continue;
            if (Date.parse(c.lastMessagePreview.createdDateTime) < since) return false;
            recent.push(c);
          }
          return true;
        },
      );
      return {
        items: recent.slice(0, p.limit).map((c) => {
          const preview = previewOf(c);
          return {
            id: c.id.slice(0, 500),
            title: shorten(titleOf(c, metadata.userId), 1000),
            ...(preview ? { subtitle: preview } : {}),
            ...(c.webUrl && URL.canParse(c.webUrl) ? { url: c.webUrl } : {}),
            status: c.chatType,
            timestamp: new Date(c.lastMessagePreview!.createdDateTime).toISOString(),
          };
        }),
        total: recent.length,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof params>>,
};
