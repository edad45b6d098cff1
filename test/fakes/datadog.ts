// Fake Datadog API (one site): /api/v1/validate checks the API key alone, /api/v2/validate_keys the API key and
// application key together; refusals are 403 {"errors":["Forbidden"]} as Datadog answers them. The widget routes
// (monitor search, SLO search) need both keys, page as Datadog does (0-based `page`/`per_page`; `page[number]`/
// `page[size]` with `meta.pagination`), and send the per-endpoint X-RateLimit-* headers, 429 included.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { startFakeServer, type FakeServer } from './fake-server.js';

export interface FakeDatadog extends FakeServer {
  /** The keys this fake organisation accepts; assign new values to "rotate" them. */
  keys: { apiKey: string; appKey: string };
  calls: { validate: number; validateKeys: number };
  /** Headers of every request, to check which key went where. */
  requests: { path: string; apiKey?: string; appKey?: string }[];
  /** The next request is answered with this status (503, 429 …). */
  failNext(status: number): void;
  /** What the widget routes answer with. */
  data: { monitors: FakeMonitor[]; slos: FakeSlo[] };
  api: {
    calls: number;
    routeCalls: { monitors: number; slos: number };
    delayMs: number;
    failures: { status: number; headers?: Record<string, string> }[];
    /** Calls left in the current period, sent as X-RateLimit-Remaining; at 0 Datadog answers 429. */
    rateLimitRemaining: number;
    /** The `query` of every monitor and SLO search, in order. */
    queries: string[];
    /** While set, widget requests wait for it before answering: a test holds one in flight for as long as it needs. */
    hold?: Promise<void>;
  };
}

export interface FakeMonitor {
  id: number;
  name: string;
  status: 'Alert' | 'Warn' | 'No Data' | 'OK';
  type?: string;
  tags?: string[];
  lastTriggered?: number;
}

export interface FakeSlo {
  id: string;
  name: string;
  tags?: string[];
  statuses: { timeframe: '7d' | '30d' | '90d'; target: number; sli: number; budget: number; state: 'ok' | 'warning' | 'breached' | 'no_data' }[];
}

/** The monitor-search syntax the widget writes: `status:alert` or `status:(alert OR warn)`, then `tag:"k:v"` terms. */
function parseMonitorQuery(query: string): { statuses: string[]; tags: string[] } | undefined {
  const status = /^status:(?:\(([a-z ]+(?: OR [a-z ]+)*)\)|([a-z]+))/.exec(query);
  if (!status) return undefined;
  const statuses = (status[1] ?? status[2]!).split(' OR ').map((s) => s.trim());
  const rest = query.slice(status[0].length).trim();
  const tags = [...rest.matchAll(/tag:"([^"]+)"/g)].map((m) => m[1]!);
  if (rest.replace(/tag:"[^"]+"/g, '').trim()) return undefined;
  return { statuses, tags };
}

export async function startFakeDatadog(keys = { apiKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', appKey: 'ddapp_0123456789abcdef0123456789abcdef01234567' }): Promise<FakeDatadog> {
  const calls = { validate: 0, validateKeys: 0 };
  const requests: FakeDatadog['requests'] = [];
  let failure: number | undefined;
  const data: FakeDatadog['data'] = { monitors: [], slos: [] };
  const api: FakeDatadog['api'] = { calls: 0, routeCalls: { monitors: 0, slos: 0 }, delayMs: 0, failures: [], rateLimitRemaining: 1000, queries: [] };
  // Mutable in place, so a test can rotate the keys the fake accepts.
  const current = { ...keys };

  const header = (req: FastifyRequest, name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const forbidden = (reply: FastifyReply) => reply.code(403).send({ errors: ['Forbidden'] });

  const server = await startFakeServer((app) => {
    app.addHook('onRequest', async (req, reply) => {
      requests.push({ path: req.url, apiKey: header(req, 'dd-api-key'), appKey: header(req, 'dd-application-key') });
      if (failure !== undefined) {
        const status = failure;
        failure = undefined;
        return reply.code(status).send({ errors: [status === 429 ? 'Too many requests' : 'Service Unavailable'] });
      }
    });
    app.get('/api/v1/validate', async (req, reply) => {
      calls.validate++;
      if (header(req, 'dd-api-key') !== current.apiKey) return forbidden(reply);
      return { valid: true };
    });
    app.get('/api/v2/validate_keys', async (req, reply) => {
      calls.validateKeys++;
      if (!header(req, 'dd-api-key') || !header(req, 'dd-application-key')) return reply.code(401).send({ errors: ['Unauthorized'] });
      if (header(req, 'dd-api-key') !== current.apiKey || header(req, 'dd-application-key') !== current.appKey) return forbidden(reply);
      return { status: 'ok' };
    });

    // Widget routes: queued failures first, then both keys, then the endpoint's quota.
    const rateHeaders = (name: string) => ({ 'x-ratelimit-limit': '1000', 'x-ratelimit-period': '60', 'x-ratelimit-remaining': String(api.rateLimitRemaining), 'x-ratelimit-reset': '37', 'x-ratelimit-name': name });
    async function gate(req: FastifyRequest, reply: FastifyReply, name: string): Promise<boolean> {
      api.calls++;
      if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
      if (api.hold) await api.hold;
      const queued = api.failures.shift();
      if (queued) {
        void reply.code(queued.status).headers(queued.headers ?? {}).send({ errors: [queued.status === 429 ? 'Too many requests' : 'Internal Server Error'] });
        return false;
      }
      if (!header(req, 'dd-api-key') || !header(req, 'dd-application-key')) {
        void reply.code(401).send({ errors: ['Unauthorized'] });
        return false;
      }
      if (header(req, 'dd-api-key') !== current.apiKey || header(req, 'dd-application-key') !== current.appKey) {
        void forbidden(reply);
        return false;
      }
      if (api.rateLimitRemaining <= 0) {
        void reply.code(429).headers(rateHeaders(name)).send({ errors: ['Too many requests'] });
        return false;
      }
      api.rateLimitRemaining--;
      void reply.headers(rateHeaders(name));
      return true;
    }

    app.get('/api/v1/monitor/search', async (req, reply) => {
      api.routeCalls.monitors++;
      if (!(await gate(req, reply, 'monitor_search'))) return reply;
      const q = req.query as { query?: string; page?: string; per_page?: string };
      api.queries.push(q.query ?? '');
      const parsed = parseMonitorQuery(q.query ?? '');
      if (!parsed) return reply.code(400).send({ errors: ['Invalid query'] });
      const found = data.monitors
        .filter((m) => parsed.statuses.includes(m.status.toLowerCase()) && parsed.tags.every((t) => (m.tags ?? []).includes(t)))
        .sort((a, b) => a.id - b.id);
      const perPage = Math.min(Number(q.per_page ?? 30), 1000);
      const page = Number(q.page ?? 0);
      const counts = (key: (m: FakeMonitor) => string) => {
        const tally = new Map<string, number>();
        for (const m of found) tally.set(key(m), (tally.get(key(m)) ?? 0) + 1);
        return [...tally].map(([name, count]) => ({ name, count }));
      };
      return {
        counts: { status: counts((m) => m.status), type: counts((m) => m.type ?? 'metric alert') },
        metadata: { page, page_count: Math.ceil(found.length / perPage), per_page: perPage, total_count: found.length },
        monitors: found.slice(page * perPage, (page + 1) * perPage).map((m) => ({
          id: m.id,
          name: m.name,
          status: m.status,
          type: m.type ?? 'metric alert',
          tags: m.tags ?? [],
          classification: 'metric',
          last_triggered_ts: m.lastTriggered ?? null,
          overall_state_modified: m.lastTriggered ?? null,
          org_id: 1,
          query: 'avg(last_5m):avg:system.cpu.user{*} > 90',
          creator: { name: 'Ops', handle: 'ops@example.com', email: 'ops@example.com' },
        })),
      };
    });

    app.get('/api/v1/slo/search', async (req, reply) => {
      api.routeCalls.slos++;
      if (!(await gate(req, reply, 'slo_search'))) return reply;
      const q = req.query as Record<string, string | undefined>;
      api.queries.push(q.query ?? '');
      const size = Number(q['page[size]'] ?? 10);
      const number = Number(q['page[number]'] ?? 0);
      // `service:x` style terms match tags, anything else the name.
      const term = q.query?.trim();
      const found = data.slos.filter((s) => !term || (term.includes(':') ? (s.tags ?? []).includes(term) : s.name.toLowerCase().includes(term.toLowerCase())));
      const last = Math.max(Math.ceil(found.length / size) - 1, 0);
      const url = (n: number) => `https://api.datadoghq.com/api/v1/slo/search?page[number]=${n}&page[size]=${size}`;
      return {
        data: {
          type: 'slo_search_result',
          attributes: {
            slos: found.slice(number * size, (number + 1) * size).map((s) => ({
              data: {
                id: s.id,
                type: 'slo',
                attributes: {
                  name: s.name,
                  all_tags: s.tags ?? [],
                  slo_type: 'metric',
                  overall_status: s.statuses.map((st) => ({ timeframe: st.timeframe, target: st.target, status: st.sli, error_budget_remaining: st.budget, state: st.state, indexed_at: 1_700_000_000, span_precision: 2 })),
                },
              },
            })),
          },
        },
        links: { first: url(0), last: url(last), next: number < last ? url(number + 1) : null, prev: number > 0 ? url(number - 1) : null, self: url(number) },
        meta: { pagination: { first_number: 0, last_number: last, next_number: Math.min(number + 1, last), number, prev_number: Math.max(number - 1, 0), size, total: found.length, type: 'number_size' } },
      };
    });
  });

  return Object.assign(server, {
    keys: current,
    calls,
    requests,
    failNext: (status: number) => void (failure = status),
    data,
    api,
  });
}
