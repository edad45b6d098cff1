// Datadog widgets: monitors alerting now, and the status and error budget of every SLO.
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { appUrlOf, getPage, quotaSpent } from './api.js';

/** Monitors: 5 pages of 100, the most a list widget holds (500); `total_count` counts the rest. */
const MONITOR_PAGES = 5;
const MONITORS_PER_PAGE = 100;
/** SLOs: 10 pages of 50 (500 SLOs). */
const SLO_PAGES = 10;
const SLOS_PER_PAGE = 50;

const monitorPage = z.object({
  monitors: z
    .array(
      z.object({
        id: z.number(),
        name: z.string(),
        status: z.string(),
        type: z.string().optional(),
        tags: z.array(z.string()).default([]),
        last_triggered_ts: z.number().nullish(),
      }),
    )
    .default([]),
  metadata: z.object({ page: z.number(), page_count: z.number(), total_count: z.number() }).optional(),
});
type Monitor = z.infer<typeof monitorPage>['monitors'][number];

const overallStatus = z.object({
  timeframe: z.string(),
  target: z.number().nullish(),
  status: z.number().nullish(),
  error_budget_remaining: z.number().nullish(),
  state: z.string().nullish(),
});
const sloPage = z.object({
  data: z.object({
    attributes: z.object({
      slos: z
        .array(z.object({ data: z.object({ id: z.string(), attributes: z.object({ name: z.string(), overall_status: z.array(overallStatus).default([]) }) }) }))
        .default([]),
    }),
  }),
  meta: z.object({ pagination: z.object({ number: z.number(), last_number: z.number() }).partial() }).optional(),
});

// Monitor search's own syntax (`tag:"env:prod"`): only characters a Datadog tag may hold, so no quote escapes.
const tagList = z
  .string()
  .max(500)
  .regex(/^[\w.\-/:]+(,[\w.\-/:]+)*$/, 'comma-separated tags such as env:prod,team:core');

// A boolean too, not only "true"/"false": the parsed params recorded at a read are parsed again when a sync or a
// webhook refreshes the widget, and a string-only schema would refuse its own output.
const monitorParams = z.object({ includeWarn: z.union([z.boolean(), z.stringbool()]).default(true), tags: tagList.optional() });
const sloParams = z.object({
  query: z.string().min(1).max(200).regex(/^[\w .:\-/*"]+$/, 'an SLO name or a query such as service:checkout').optional(),
  timeframe: z.enum(['7d', '30d', '90d']).optional(),
});

const SEVERITY: Record<string, number> = { Alert: 0, Warn: 1, 'No Data': 2 };
const SLO_STATE: Record<string, number> = { breached: 0, warning: 1, no_data: 2, ok: 3 };
const round3 = (n: number | null | undefined) => (n === null || n === undefined ? null : Math.round(n * 1000) / 1000);

export const widgets = {
  'alerting-monitors': {
    title: 'Monitors alerting',
    description: 'Monitors in Alert (and Warn) now, the most severe and most recent first. Needs an application key with monitors_read.',
    kind: 'list',
    ttlSeconds: 120,
    // API keys carry no OAuth scopes: the application key's permissions govern, and Datadog answers 403 without them.
    scopes: [],
    params: monitorParams,
    async fetch({ params: p, api, metadata }) {
      const status = p.includeWarn ? 'status:(alert OR warn)' : 'status:alert';
      const query = [status, ...(p.tags?.split(',') ?? []).map((tag) => `tag:"${tag}"`)].join(' ');
      const monitors: Monitor[] = [];
      let total: number | undefined;
      for (let page = 0; page < MONITOR_PAGES; page++) {
        const response = await getPage(api, '/api/v1/monitor/search', { query: { query, page, per_page: MONITORS_PER_PAGE } });
        const body = monitorPage.parse(response.body);
        monitors.push(...body.monitors);
        total ??= body.metadata?.total_count;
        if (!body.metadata || page + 1 >= body.metadata.page_count || !body.monitors.length || quotaSpent(response.headers)) break;
      }
      const app = appUrlOf(metadata.site);
      monitors.sort((a, b) => (SEVERITY[a.status] ?? 3) - (SEVERITY[b.status] ?? 3) || (b.last_triggered_ts ?? 0) - (a.last_triggered_ts ?? 0));
      return {
        items: monitors.map((m) => ({
          id: String(m.id),
          title: m.name.slice(0, 1000),
          subtitle: [m.type, ...m.tags.slice(0, 3)].filter(Boolean).join(' · ').slice(0, 1000),
          url: `${app}/monitors/${m.id}`,
          status: m.status,
          ...(m.last_triggered_ts ? { timestamp: new Date(m.last_triggered_ts * 1000).toISOString() } : {}),
        })),
        ...(total !== undefined && total > monitors.length ? { total } : {}),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof monitorParams>>,

  'slo-status': {
    title: 'SLO status',
    description: 'Each SLO against its target: SLI, error budget left and state, breached first. Needs an application key with slos_read.',
    kind: 'table',
    ttlSeconds: 600,
    scopes: [],
    params: sloParams,
    async fetch({ params: p, api }) {
      const slos: z.infer<typeof sloPage>['data']['attributes']['slos'] = [];
      for (let page = 0; page < SLO_PAGES; page++) {
        const response = await getPage(api, '/api/v1/slo/search', { query: { query: p.query, 'page[size]': SLOS_PER_PAGE, 'page[number]': page } });
        const body = sloPage.parse(response.body);
        slos.push(...body.data.attributes.slos);
        const last = body.meta?.pagination.last_number;
        if (last === undefined || page >= last || !body.data.attributes.slos.length || quotaSpent(response.headers)) break;
      }
      const rows = slos.map(({ data: slo }) => {
        // The asked timeframe, else the SLO's first (its primary one).
        const status = slo.attributes.overall_status.find((s) => s.timeframe === p.timeframe) ?? (p.timeframe ? undefined : slo.attributes.overall_status[0]);
        return {
          name: slo.attributes.name.slice(0, 500),
          timeframe: status?.timeframe ?? p.timeframe ?? null,
          target: status?.target ?? null,
          sli: round3(status?.status),
          errorBudgetRemaining: round3(status?.error_budget_remaining),
          state: status?.state ?? 'no_data',
        };
      });
      rows.sort((a, b) => (SLO_STATE[a.state] ?? 2) - (SLO_STATE[b.state] ?? 2) || (a.errorBudgetRemaining ?? Infinity) - (b.errorBudgetRemaining ?? Infinity));
      return {
        columns: [
          { key: 'name', label: 'SLO' },
          { key: 'timeframe', label: 'Window' },
          { key: 'target', label: 'Target %' },
          { key: 'sli', label: 'SLI %' },
          { key: 'errorBudgetRemaining', label: 'Error budget left %' },
          { key: 'state', label: 'State' },
        ],
        rows,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof sloParams>>,
};
