// A cold-key stampede on the widget endpoint: N reads of one uncached widget at once, spread over one or more hub
// processes, checked against the fake provider's call count (one upstream call) and the answers (one value).
import { prepareBurst, type BurstTarget } from './burst.js';
import { percentiles, type Percentiles } from './connect-latency.js';
import type { CalendarFake } from './widget-provider.js';

export interface StampedeHub {
  baseUrl: string;
  bearer: string;
  /** The API base tag the hub was given (`default` for none): how the fake tells its calls apart. */
  tag: string;
}

export interface StampedeOptions {
  label: string;
  hubs: StampedeHub[];
  fake: CalendarFake;
  /** A path of the same widget that is already cached, read once per hub before the burst. */
  warmPath: string;
  /** The cold path: a widget and parameters no one has read yet. */
  coldPath: string;
  requests: number;
}

export interface StampedeResult {
  label: string;
  coldPath: string;
  requests: number;
  /** Requests per hub process. */
  perHub: number[];
  ok200: number;
  statuses: Record<string, number>;
  /** The first non-200 answer per status (problem+json, no secrets), to tell why. */
  failures: Record<string, string>;
  distinctFetchedAt: number;
  /** `cache` or `provider` (prefixed by the hub's tag when there are several). */
  sources: Record<string, number>;
  upstreamCalls: number;
  upstreamByHub: Record<string, number>;
  /** Each upstream call of the burst, in ms from the first request fired: received → answered. */
  upstreamTimeline: { tag: string; receivedMs: number; answeredMs?: number }[];
  latency: Percentiles;
  firedInMs: number;
  wallMs: number;
}

/** Fires the reads of one cold key at once (spread evenly over the hubs) and counts what reached the provider. */
export async function runStampede(options: StampedeOptions): Promise<StampedeResult> {
  const { hubs, fake } = options;
  const perHub = hubs.map((_, i) => Math.floor(options.requests / hubs.length) + (i < options.requests % hubs.length ? 1 : 0));
  // The key is cold, the processes are not: each has verified the token, leased rate-limit points and loaded the
  // connection, so the burst measures the widget cache's single flight rather than a process's first request.
  for (const h of hubs) {
    const warm = await fetch(h.baseUrl + options.warmPath, { headers: { authorization: `Bearer ${h.bearer}` } });
    const text = await warm.text();
    if (warm.status !== 200) throw new Error(`warm-up read on ${h.tag} answered ${warm.status}: ${text.slice(0, 300)}`);
  }
  const targets: BurstTarget[] = hubs.map((h, i) => ({
    origin: h.baseUrl,
    path: options.coldPath,
    headers: { authorization: `Bearer ${h.bearer}` },
    count: perHub[i]!,
    warmPath: '/healthz',
  }));
  const burst = await prepareBurst(targets);
  try {
    const before = fake.stats();
    const firedAt = Date.now();
    const { answers, firedInMs, wallMs } = await burst.fire();
    const after = fake.stats();
    const statuses: Record<string, number> = {};
    const failures: Record<string, string> = {};
    const sources: Record<string, number> = {};
    const fetchedAt = new Set<string>();
    const tagged = answers.flatMap((list, i) => list.map((a) => ({ ...a, tag: hubs[i]!.tag })));
    for (const a of tagged) {
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      if (a.status !== 200) {
        failures[a.status] ??= a.body.slice(0, 300);
        continue;
      }
      const body = JSON.parse(a.body) as { fetchedAt: string; source: string };
      fetchedAt.add(body.fetchedAt);
      const source = hubs.length > 1 ? `${a.tag}:${body.source}` : body.source;
      sources[source] = (sources[source] ?? 0) + 1;
    }
    const upstreamByHub: Record<string, number> = {};
    for (const h of hubs) upstreamByHub[h.tag] = (after.callsByTag[h.tag] ?? 0) - (before.callsByTag[h.tag] ?? 0);
    return {
      label: options.label,
      coldPath: options.coldPath,
      requests: tagged.length,
      perHub,
      ok200: statuses['200'] ?? 0,
      statuses,
      failures,
      distinctFetchedAt: fetchedAt.size,
      sources,
      upstreamCalls: after.eventsCalls - before.eventsCalls,
      upstreamByHub,
      upstreamTimeline: after.calls
        .filter((c) => c.receivedAt >= firedAt)
        .map((c) => ({ tag: c.tag, receivedMs: c.receivedAt - firedAt, ...(c.answeredAt ? { answeredMs: c.answeredAt - firedAt } : {}) })),
      latency: percentiles(tagged.map((a) => a.ms)),
      firedInMs,
      wallMs,
    };
  } finally {
    burst.close();
  }
}

export function printStampede(s: StampedeResult, prefix = ''): void {
  const p = s.latency;
  console.log(
    `  ${prefix}${s.label}: ${s.requests} reads (${s.perHub.join(' + ')}), ${s.ok200} × 200, ${s.distinctFetchedAt} fetchedAt, ` +
      `upstream ${s.upstreamCalls} (${Object.entries(s.upstreamByHub).map(([k, v]) => `${k}: ${v}`).join(', ')}), ` +
      `source ${Object.entries(s.sources).map(([k, v]) => `${k} ${v}`).join(', ')}, ` +
      `p50 ${p.p50Ms.toFixed(1)} p99 ${p.p99Ms.toFixed(1)} max ${p.maxMs.toFixed(1)} ms, fired in ${s.firedInMs.toFixed(0)} ms`,
  );
  if (s.upstreamTimeline.length > 1) {
    console.log(`    upstream calls (ms after the first request): ${s.upstreamTimeline.map((c) => `${c.tag} ${c.receivedMs}→${c.answeredMs ?? '?'}`).join(', ')}`);
  }
  for (const [status, body] of Object.entries(s.failures)) console.log(`    ${s.statuses[status]} × ${status}, first: ${body}`);
}
