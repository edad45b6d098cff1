// Every key-value store key, channel name and TTL the hub uses, built here and nowhere else.
// One place to see what the hub keeps in Redis, to change a layout (bump `v1`), and to purge by prefix.

const ROOT = 'hub:v1';

/** Lifetimes in milliseconds, next to the keys they belong to. */
export const KV_TTL_MS = {
  /** A pending OAuth authorization: how long a user has to finish consenting at the provider. */
  oauthState: 10 * 60_000,
  /** Token refresh lock: well above one token call with its retries, short enough that a crashed holder
   *  does not block refresh for long. The holder extends it if a refresh runs long. */
  refreshLock: 30_000,
  /** At most one re-check of a refused API key per connection in this window. */
  keyRecheck: 5 * 60_000,
  /** Widget fetch lock (one upstream fetch per cache key across instances): above one provider fetch with
   *  its timeout and retries, so the lock does not expire under a slow but live fetch. */
  widgetFetchLock: 30_000,
  /** How long a cached widget value is kept past its freshness (the widget's `ttlSeconds`) so it can be
   *  served stale while the provider is down. Freshness is decided from the cached value's fetch time. */
  widgetCacheRetention: 24 * 60 * 60_000,
  /** A manual sync marker (de-duplicates syncs while one is pending): the upper bound of one sync, so a
   *  crashed worker does not block manual syncs for longer than that. */
  syncPending: 10 * 60_000,
  /** At most one forced provider fetch per widget key in this window. */
  widgetForcedRefresh: 10_000,
  /** How far back an SSE client can resume with Last-Event-ID. */
  liveEventsHistory: 5 * 60_000,
} as const satisfies Record<string, number>;

export type RateLimitKind = 'inbound-token' | 'inbound-ip' | 'outbound';

/**
 * One key segment. Encoded so a value containing ':' (or anything else) can never forge another key's shape,
 * e.g. widget id `a:b` colliding with widget `a` under params `b`. Empty segments are a bug at the caller.
 */
function part(value: string): string {
  if (value === '') throw new RangeError('kv key segment must not be empty');
  return encodeURIComponent(value);
}

/** OAuth state → the pending authorization it stands for; consumed once with `take`. */
export function oauthState(state: string): string {
  return `${ROOT}:oauth:${part(state)}`;
}

/** Marks an OAuth state as opened by one browser: only the first browser to open the URL is bound to it. */
export function oauthStateBinding(state: string): string {
  return `${ROOT}:oauthb:${part(state)}`;
}

/** Marks a recent re-check of a connection's refused API key (one per window across instances). */
export function keyRecheck(connectionId: string): string {
  return `${ROOT}:keycheck:${part(connectionId)}`;
}

/** Lock held while one instance refreshes a connection's tokens. */
export function refreshLock(connectionId: string): string {
  return `${ROOT}:refresh:${part(connectionId)}`;
}

/** Cached widget data (ciphertext under the connection's data key) for one widget and parameter set. */
export function widgetCache(connectionId: string, widgetId: string, paramsHash: string): string {
  return `${widgetCachePrefix(connectionId)}${part(widgetId)}:${part(paramsHash)}`;
}

/** Every cached widget of every connection: the prefix the widget cache keeps near (in process). */
export function widgetCacheRoot(): string {
  return `${ROOT}:wc:`;
}

/** Every cached widget of a connection, for `delByPrefix` on disconnect. Ends with ':' so `conn_a` never
 *  matches `conn_ab`. */
export function widgetCachePrefix(connectionId: string): string {
  return `${widgetCacheRoot()}${part(connectionId)}:`;
}

/** Lock held by the one instance fetching a widget cache key from the provider. */
export function widgetFetchLock(connectionId: string, widgetId: string, paramsHash: string): string {
  return `${ROOT}:wf:${part(connectionId)}:${part(widgetId)}:${part(paramsHash)}`;
}

/** Marks a recent forced provider fetch (`?refresh=true`) of one widget key, so forcing is rate limited. */
export function widgetForcedRefresh(connectionId: string, widgetId: string, paramsHash: string): string {
  return `${ROOT}:wr:${part(connectionId)}:${part(widgetId)}:${part(paramsHash)}`;
}

/** Key prefix handed to rate-limiter-flexible, which appends `:<key>` itself. */
export function rateLimitPrefix(kind: RateLimitKind): string {
  return `${ROOT}:rl:${kind}`;
}

/** Pub/sub channel on which a changed connection's id is announced, so every instance drops its cached copy. */
export function connectionChangedChannel(): string {
  return `${ROOT}:events:connection-changed`;
}

/** Pub/sub channel of a workspace's live events (SSE fan-out). */
export function workspaceEventsChannel(workspaceId: string): string {
  return `${ROOT}:events:ws:${part(workspaceId)}`;
}

/** Marker of a manual sync already queued for a connection; holds its `sync_…` id. */
export function syncPending(connectionId: string): string {
  return `${ROOT}:sync:${part(connectionId)}`;
}

/** The short history of a workspace's live events, so an SSE client that reconnects resumes (Last-Event-ID). */
export function workspaceEventsHistory(workspaceId: string): string {
  return `${ROOT}:events:wsh:${part(workspaceId)}`;
}

/** Pub/sub channel that wakes webhook workers when a delivery was stored (they also poll). */
export function webhookWakeChannel(): string {
  return `${ROOT}:events:webhooks`;
}
