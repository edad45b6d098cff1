// Widget data: cache hit → answer; stale → answer and revalidate in the background; miss → one provider fetch
// per key across instances; provider failing → last good value marked stale. Output validated by kind.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { getConnector } from '../../connectors/index.js';
import type { ConnectorDefinition, WidgetDefinition } from '../../connectors/types.js';
import type { ConnectionRow } from '../../db/schema.js';
import { AppError, ProviderError } from '../../errors.js';
import { KV_TTL_MS, widgetCache as widgetCacheKey, widgetForcedRefresh } from '../../lib/kv-keys.js';
import type { KeyValueStore } from '../../lib/kv/kv.js';
import type { Logger } from '../../lib/logger.js';
import type { ConnectionCache } from '../connections/connection-cache.js';
import type { ConnectionRepo } from '../connections/connection.repo.js';
import type { Vault } from '../vault/vault.service.js';
import { toAppError, type ProviderApiFactory } from './provider-api.js';
import { createRevalidationBackoff, type RevalidationBackoff } from './revalidation-backoff.js';
import { hashParams, type CachedValue, type CacheSlot, type WidgetCache } from './widget-cache.js';
import { WIDGET_DATA } from './widget-data.js';

export interface WidgetAnswer {
  widgetId: string;
  integrationId: string;
  kind: WidgetDefinition['kind'];
  data: unknown;
  fetchedAt: string;
  expiresAt: string;
  stale: boolean;
  source: 'cache' | 'provider';
}

export interface WidgetServiceDeps {
  connectionRepo: Pick<ConnectionRepo, 'findById'>;
  connectionCache: Pick<ConnectionCache, 'get' | 'peek'>;
  vault: Pick<Vault, 'unwrapDataKey'>;
  cache: WidgetCache;
  api: ProviderApiFactory;
  kv: KeyValueStore;
  logger: Logger;
  /** Told of every read (with the query as sent), so syncs and webhooks know which widgets to keep warm. */
  onRead?: (connection: ConnectionRow, widgetId: string, params: unknown, paramsHash: string, cacheKey: string) => void;
  /** When a failed background revalidation may be tried again (default: 15 s doubling to 5 min, ≥ Retry-After). */
  revalidationBackoff?: RevalidationBackoff;
}

/** The three shapes of an answer: from the provider, or from the cache fresh or stale. */
type AnswerVariant = 'provider' | 'fresh' | 'stale';
const variantOf = (source: WidgetAnswer['source'], stale: boolean): AnswerVariant => (source === 'provider' ? 'provider' : stale ? 'stale' : 'fresh');

const USER_MUST_ACT = new Set(['reauth_required', 'insufficient_scope', 'connection_inactive']);

interface Resolved {
  row: ConnectionRow;
  connector: ConnectorDefinition;
  widget: WidgetDefinition;
  params: unknown;
  slot: CacheSlot & { key: string };
  /** Answers made from a cached value, per value object and variant: a hit serves the same (frozen) answer object
   *  again, which the route renders once. */
  answers: WeakMap<CachedValue, Partial<Record<AnswerVariant, WidgetAnswer>>>;
}

/** Parsed params kept per widget and query: dashboards repeat the same few queries, and parsing plus hashing them is
 * a measurable part of a cached read. Params schemas are pure (static defaults), so a query always parses the same. */
const PARSED_MAX = 2_000;

interface ParsedQuery {
  params: unknown;
  paramsHash: string;
  /** What a read of this query resolves to, per connection row object (rows are immutable; a changed connection is a
   *  new row object from the connection cache, so a stale entry is never found). */
  resolved: WeakMap<ConnectionRow, Resolved>;
}

export function createWidgetService(deps: WidgetServiceDeps) {
  const backoff = deps.revalidationBackoff ?? createRevalidationBackoff();
  const parsedByWidget = new WeakMap<WidgetDefinition, Map<string, ParsedQuery>>();

  function parseParams(widget: WidgetDefinition, query: Record<string, unknown>) {
    const parsed = widget.params.safeParse(query);
    if (!parsed.success) {
      throw new AppError('validation_failed', 'The widget parameters are not valid.', {
        fields: parsed.error.issues.map((i) => ({ path: ['querystring', ...i.path.map(String)].join('.'), message: i.message })),
      });
    }
    return parsed.data;
  }

  function parsedParams(widget: WidgetDefinition, query: Record<string, unknown>): ParsedQuery {
    let known = parsedByWidget.get(widget);
    if (!known) parsedByWidget.set(widget, (known = new Map()));
    const text = JSON.stringify(query);
    const hit = known.get(text);
    if (hit) return hit;
    const params = parseParams(widget, query);
    const entry: ParsedQuery = { params, paramsHash: hashParams(params), resolved: new WeakMap() };
    if (known.size >= PARSED_MAX) known.delete(known.keys().next().value!);
    known.set(text, entry);
    return entry;
  }

  function resolve(row: ConnectionRow, dataKey: Buffer | KeyObject | undefined, widgetId: string, query: Record<string, unknown>): Resolved {
    const connector = getConnector(row.integration);
    const widget = connector?.widgets[widgetId];
    if (!connector || !widget) throw new AppError('widget_not_found', `${row.integration} has no widget '${widgetId}'.`);
    if (row.status === 'needs_reauth') throw new AppError('reauth_required', `The ${connector.name} connection needs to be reconnected.`);
    if (row.status === 'disconnected' || !dataKey) throw new AppError('connection_inactive', `The ${connector.name} connection is disconnected.`);
    const parsed = parsedParams(widget, query);
    const known = parsed.resolved.get(row);
    if (known && known.slot.dataKey === dataKey) return known;
    const missing = connector.auth.type === 'oauth2' ? widget.scopes.filter((s) => !row.scopes.includes(s)) : [];
    if (missing.length) throw new AppError('insufficient_scope', `This widget needs the scopes ${missing.join(', ')}; reconnect with them.`);
    const { params, paramsHash } = parsed;
    const slot = { connectionId: row.id, widgetId, paramsHash, dataKey, key: widgetCacheKey(row.id, widgetId, paramsHash) };
    const resolved: Resolved = { row, connector, widget, params, slot, answers: new WeakMap() };
    parsed.resolved.set(row, resolved);
    return resolved;
  }

  function loaderFor(r: Resolved) {
    return async (): Promise<CachedValue> => {
      const now = new Date();
      const api = deps.api.forConnection(r.connector, { id: r.row.id, metadata: r.row.metadata as Record<string, string> });
      let raw: unknown;
      try {
        raw = await r.widget.fetch({ params: r.params, api, metadata: r.row.metadata as Record<string, string>, now });
      } catch (error) {
        // A provider answer the widget's schema could not read is the provider's fault, not ours: 502.
        if (error instanceof z.ZodError) {
          deps.logger.error({ slug: r.connector.slug, widgetId: r.slot.widgetId, issues: error.issues.slice(0, 5) }, 'provider answer did not match the widget\'s schema');
          throw new AppError('provider_error', `${r.connector.name} answered in a shape the widget could not read.`);
        }
        throw error;
      }
      const checked = WIDGET_DATA[r.widget.kind].safeParse(raw);
      if (!checked.success) {
        deps.logger.error({ slug: r.connector.slug, widgetId: r.slot.widgetId, issues: checked.error.issues.slice(0, 5) }, 'widget output does not match its kind');
        throw new AppError('provider_error', `${r.connector.name} answered data the widget could not read.`);
      }
      return { data: checked.data, fetchedAt: now.toISOString(), freshUntil: new Date(now.getTime() + r.widget.ttlSeconds * 1000).toISOString() };
    };
  }

  function answer(r: Resolved, value: CachedValue, source: WidgetAnswer['source'], stale: boolean): WidgetAnswer {
    let made = r.answers.get(value);
    if (!made) r.answers.set(value, (made = {}));
    return (made[variantOf(source, stale)] ??= Object.freeze({
      widgetId: r.slot.widgetId,
      integrationId: r.row.id,
      kind: r.widget.kind,
      data: value.data,
      fetchedAt: value.fetchedAt,
      expiresAt: value.freshUntil,
      stale,
      source,
    }));
  }

  async function fromProvider(r: Resolved, cached: CachedValue | undefined): Promise<WidgetAnswer> {
    try {
      const value = await deps.cache.fetch(r.slot, loaderFor(r), cached?.fetchedAt);
      return answer(r, value, 'provider', false);
    } catch (error) {
      const problem = error instanceof AppError || error instanceof ProviderError ? toAppError(error, r.connector.name) : undefined;
      // The user must act (reconnect, grant a scope): say so rather than hide it behind old data.
      if (problem && USER_MUST_ACT.has(problem.code)) throw problem;
      // Stale-if-error: the provider is failing, the last good value is better than nothing.
      if (cached) {
        deps.logger.warn({ slug: r.connector.slug, widgetId: r.slot.widgetId, err: error instanceof Error ? error.message : error }, 'serving stale widget data');
        return answer(r, cached, 'cache', true);
      }
      throw problem ?? error;
    }
  }

  /** Keys this instance is revalidating: the reads meanwhile start nothing (the fetch would be shared anyway) and
   *  leave the outcome, counted once, to the read that started it. */
  const revalidating = new Set<string>();

  function revalidate(r: Resolved, cached: CachedValue): void {
    const { key } = r.slot;
    if (revalidating.has(key) || !backoff.mayTry(key)) return;
    revalidating.add(key);
    deps.cache.fetch(r.slot, loaderFor(r), cached.fetchedAt).finally(() => revalidating.delete(key)).then(
      () => backoff.succeeded(key),
      (error: unknown) => {
        const until = backoff.failed(key, error);
        deps.logger.warn(
          { slug: r.connector.slug, widgetId: r.slot.widgetId, err: error instanceof Error ? error.message : error, nextTryAt: new Date(until).toISOString() },
          'background revalidation failed',
        );
      },
    );
  }

  /** Whether a forced fetch of this key is allowed now (at most one per window across instances). */
  async function mayForce(slot: CacheSlot): Promise<boolean> {
    return deps.kv.acquire(widgetForcedRefresh(slot.connectionId, slot.widgetId, slot.paramsHash), '1', KV_TTL_MS.widgetForcedRefresh);
  }

  /** Fresh until (ms), parsed once per cached value. */
  const freshUntilMs = new WeakMap<CachedValue, number>();
  const isFresh = (value: CachedValue) => {
    let until = freshUntilMs.get(value);
    if (until === undefined) freshUntilMs.set(value, (until = Date.parse(value.freshUntil)));
    return until > Date.now();
  };

  return {
    /**
     * The answer to a read, when this process can give it at once: a fresh value it holds (see WidgetCache.peek).
     * Undefined otherwise (not held here, stale, or missing): then getData. Same checks and errors as getData.
     */
    peekData(workspaceId: string, connectionId: string, widgetId: string, query: Record<string, unknown>): WidgetAnswer | undefined {
      const connection = deps.connectionCache.peek(workspaceId, connectionId);
      if (!connection) return undefined;
      const r = resolve(connection.row, connection.dataKey, widgetId, query);
      const cached = deps.cache.peek(r.slot);
      if (!cached || !isFresh(cached)) return undefined;
      deps.onRead?.(connection.row, widgetId, query, r.slot.paramsHash, r.slot.key);
      return answer(r, cached, 'cache', false);
    },

    async getData(workspaceId: string, connectionId: string, widgetId: string, query: Record<string, unknown>, options: { refresh?: boolean } = {}): Promise<WidgetAnswer> {
      const connection = deps.connectionCache.peek(workspaceId, connectionId) ?? (await deps.connectionCache.get(workspaceId, connectionId));
      if (!connection) throw new AppError('connection_not_found', `No integration ${connectionId} in this workspace.`);
      const { row } = connection;
      const r = resolve(row, connection.dataKey, widgetId, query);
      // The query as the dashboard sent it: syncs and webhooks parse it again exactly as a read would.
      deps.onRead?.(row, widgetId, query, r.slot.paramsHash, r.slot.key);
      const cached = await deps.cache.read(r.slot);
      if (options.refresh && (await mayForce(r.slot))) return fromProvider(r, cached);
      if (!cached) return fromProvider(r, undefined);
      if (isFresh(cached)) return answer(r, cached, 'cache', false);
      // Stale: answer now, revalidate in the background (shared with any other caller doing the same). After a failed
      // revalidation the key waits out its backoff: a provider that is down costs one try (and one warning) per window.
      revalidate(r, cached);
      return answer(r, cached, 'cache', true);
    },

    /**
     * Fetches from the provider whatever the cache holds (sync jobs, webhooks). With `unlessFetchedSince`, a value
     * fetched at or after that time is kept instead (a burst of webhooks costs one fetch). True when it fetched.
     * Throws the mapped AppError on failure.
     */
    async refreshWidget(connectionId: string, widgetId: string, params: Record<string, unknown>, options: { unlessFetchedSince?: Date } = {}): Promise<boolean> {
      const row = await deps.connectionRepo.findById(connectionId);
      if (!row) throw new AppError('connection_not_found', `No integration ${connectionId}.`);
      const r = resolve(row, row.dataKey ? deps.vault.unwrapDataKey(row.id, row.dataKey) : undefined, widgetId, params);
      const cached = await deps.cache.read(r.slot, true);
      if (cached && options.unlessFetchedSince && Date.parse(cached.fetchedAt) >= options.unlessFetchedSince.getTime()) return false;
      try {
        await deps.cache.fetch(r.slot, loaderFor(r), cached?.fetchedAt);
        return true;
      } catch (error) {
        throw toAppError(error, r.connector.name);
      }
    },
  };
}

export type WidgetService = ReturnType<typeof createWidgetService>;
