import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRouteDurations } from './route-durations.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

describe('route durations', () => {
  it('exposes exactly what prom-client’s Histogram exposes for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const durations = createRouteDurations({ name: 'hub_http_request_duration_seconds', help: 'HTTP request duration', buckets: BUCKETS, registers: [ours] });
    const reference = new Histogram({ name: 'hub_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'status'], buckets: BUCKETS, registers: [theirs] });
    const widget = durations.forRoute('/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data');
    const list = durations.forRoute('/integrations');
    const notFound = durations.forRoute('not_found');
    const observations: [typeof widget, string, string, number, number][] = [
      [widget, '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data', 'GET', 200, 0.0004],
      [widget, '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data', 'GET', 200, 0.001],
      [widget, '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data', 'GET', 304, 0.003],
      [widget, '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data', 'GET', 200, 7],
      [widget, '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data', 'HEAD', 200, 0.2],
      [list, '/integrations', 'GET', 200, 0.05],
      [notFound, 'not_found', 'GET', 404, 0.0001],
      [widget, '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data', 'GET', 200, 0.01],
    ];
    for (const [record, route, method, status, seconds] of observations) {
      record(method, status, seconds);
      reference.observe({ method, route, status: String(status) }, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The JSON form too, but for prom-client's exemplar slots (unused here).
    const withoutExemplars = (json: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      json.map((m) => ({ ...m, values: (m as { values: Record<string, unknown>[] }).values.map(({ exemplar: _, ...v }) => v) }));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    widget('GET', 200, 0.002);
    reference.observe({ method: 'GET', route: '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data', status: '200' }, 0.002);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
