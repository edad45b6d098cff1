// Pub/sub for the Redis store: ONE subscriber connection per store, created on first use, multiplexing every
// channel to its set of handlers. Redis puts a subscribed connection in a mode where it can do nothing else,
// so it is a duplicate of the command client; one per store (not per subscription) keeps connection counts flat.
import type { Redis } from 'ioredis';
import type { Unsubscribe } from './kv.js';
import { deliverSafely, type KvErrorHandler } from './subscriber-errors.js';

export interface RedisSubscriber {
  /** Resolves once the server has confirmed the channel subscription: a message published afterwards arrives. */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

interface Subscription {
  handler: (message: string) => void;
}

interface Channel {
  subscriptions: Set<Subscription>;
  /** The SUBSCRIBE round trip; later subscribers to the same channel wait on it too. */
  ready: Promise<void>;
}

export function createRedisSubscriber(client: Redis, onError: KvErrorHandler): RedisSubscriber {
  const channels = new Map<string, Channel>();
  let connection: Redis | undefined;
  let closed = false;

  function connect(): Redis {
    if (connection) return connection;
    const duplicate = client.duplicate({ connectionName: `${client.options.connectionName ?? 'kv'}:sub` });
    duplicate.on('error', onError);
    duplicate.on('message', (channel: string, message: string) => {
      const entry = channels.get(channel);
      if (!entry) return;
      for (const subscription of [...entry.subscriptions]) {
        if (entry.subscriptions.has(subscription)) deliverSafely(subscription.handler, message, onError);
      }
    });
    connection = duplicate;
    return duplicate;
  }

  return {
    async subscribe(channel, handler) {
      if (closed) throw new Error('key-value store is closed');
      const subscriber = connect();
      let entry = channels.get(channel);
      if (!entry) {
        const created: Channel = {
          subscriptions: new Set(),
          ready: subscriber.subscribe(channel).then(() => undefined),
        };
        // A failed SUBSCRIBE must not stay cached: the next caller tries again.
        created.ready.catch(() => {
          if (channels.get(channel) === created) channels.delete(channel);
        });
        channels.set(channel, created);
        entry = created;
      }
      const subscription: Subscription = { handler };
      entry.subscriptions.add(subscription);
      try {
        await entry.ready;
      } catch (error) {
        entry.subscriptions.delete(subscription);
        throw error;
      }

      const subscribed = entry;
      let done = false;
      return async () => {
        if (done) return;
        done = true;
        subscribed.subscriptions.delete(subscription);
        // The last handler gone: tell Redis, so it stops sending this channel to us. A later subscribe creates a
        // new entry whose SUBSCRIBE follows this UNSUBSCRIBE on the same connection, so the order holds.
        if (subscribed.subscriptions.size > 0 || channels.get(channel) !== subscribed) return;
        channels.delete(channel);
        if (!closed) await subscriber.unsubscribe(channel);
      };
    },

    async close() {
      closed = true;
      channels.clear();
      if (!connection) return;
      try {
        await connection.quit();
      } catch {
        connection.disconnect();
      }
    },
  };
}
