// Live events for dashboards: what changed (a widget's data, a connection's status), fanned out to every
// instance through the key-value store (Redis pub/sub, or in-process when embedded), with a short history so a
// client that reconnects with Last-Event-ID misses nothing from the last few minutes.
import { KV_TTL_MS, workspaceEventsChannel, workspaceEventsHistory } from '../../lib/kv-keys.js';
import { compareHistoryIds, HISTORY_ID, type KeyValueStore } from '../../lib/kv/kv.js';
import type { Logger } from '../../lib/logger.js';

export interface WidgetUpdated {
  integrationId: string;
  slug: string;
  widgetId: string;
  params: Record<string, unknown>;
}

export interface ConnectionUpdated {
  integrationId: string;
  slug: string;
  status: string;
}

export type LiveEvent =
  | { type: 'widget.updated'; data: WidgetUpdated }
  | { type: 'connection.updated'; data: ConnectionUpdated }
  /** The client asked to resume from further back than the history reaches: it should reload everything. */
  | { type: 'resync'; data: { reason: string } };

export interface DeliveredEvent {
  /** Empty for `resync`, which is not part of the history. */
  id: string;
  event: LiveEvent;
}

const HISTORY_MAX_LENGTH = 1_000;
/** Ids already sent on one stream, to drop the overlap between history and live messages. */
const SEEN_LIMIT = 2_000;

export function createLiveEvents(deps: { kv: KeyValueStore; logger: Logger; historyMs?: number }) {
  const historyMs = deps.historyMs ?? KV_TTL_MS.liveEventsHistory;

  function parse(framed: string): DeliveredEvent | undefined {
    const space = framed.indexOf(' ');
    try {
      return { id: framed.slice(0, space), event: JSON.parse(framed.slice(space + 1)) as LiveEvent };
    } catch {
      return undefined;
    }
  }

  return {
    async publish(workspaceId: string, event: Exclude<LiveEvent, { type: 'resync' }>): Promise<void> {
      try {
        await deps.kv.publishWithHistory(workspaceEventsChannel(workspaceId), workspaceEventsHistory(workspaceId), JSON.stringify(event), {
          historyMs,
          maxLength: HISTORY_MAX_LENGTH,
        });
      } catch (err) {
        // A live event is a hint to reload; losing one must never fail the change it announces.
        deps.logger.warn({ err, workspaceId, type: event.type }, 'could not publish a live event');
      }
    },

    /**
     * Streams a workspace's events to `send`: first what the history holds after `lastEventId`, then live ones,
     * each once. Resolves once live delivery is on; call the returned function to stop.
     */
    async open(workspaceId: string, lastEventId: string | undefined, send: (event: DeliveredEvent) => void): Promise<() => Promise<void>> {
      const seen = new Set<string>();
      const deliver = (e: DeliveredEvent) => {
        if (seen.has(e.id)) return;
        seen.add(e.id);
        if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value!);
        send(e);
      };
      let buffered: DeliveredEvent[] | undefined = [];
      const unsubscribe = await deps.kv.subscribe(workspaceEventsChannel(workspaceId), (framed) => {
        const e = parse(framed);
        if (!e) return;
        if (buffered) buffered.push(e);
        else deliver(e);
      });
      try {
        if (lastEventId !== undefined) {
          const oldestKept = `${Date.now() - historyMs}-0`;
          if (!HISTORY_ID.test(lastEventId) || compareHistoryIds(lastEventId, oldestKept) < 0) {
            send({ id: '', event: { type: 'resync', data: { reason: 'Last-Event-ID is older than the event history' } } });
          } else {
            for (const entry of await deps.kv.readHistory(workspaceEventsHistory(workspaceId), lastEventId, HISTORY_MAX_LENGTH)) {
              const e = parse(`${entry.id} ${entry.message}`);
              if (e) deliver(e);
            }
          }
        }
      } catch (error) {
        await unsubscribe();
        throw error;
      }
      // Live messages that arrived while the history was read: the overlap is dropped by id.
      const pending = buffered;
      buffered = undefined;
      for (const e of pending) deliver(e);
      return unsubscribe;
    },
  };
}

export type LiveEvents = ReturnType<typeof createLiveEvents>;
