// The request duration histogram, kept per route: every request adds to counters its route already holds (found by
// status code, no label strings built), and the registry reads them in prom-client's own histogram format at scrape
// time. prom-client's Histogram.observe rebuilds and looks up a label string per call, a measurable part of a cached
// widget read; the exposition is the same.
import type { Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot counts those above every bound (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

export interface RouteDurations {
  /** The recorder of one route (its template, or 'not_found'): call it with the method, status and seconds. */
  forRoute(route: string): (method: string, status: number, seconds: number) => void;
}

export function createRouteDurations(options: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }): RouteDurations {
  const bounds = [...options.buckets].sort((a, b) => a - b);
  const all: Series[] = [];
  const byRoute = new Map<string, Map<string, Series>>();
  let epoch = 0;

  const newSeries = (method: string, route: string, status: number): Series => {
    const series: Series = { labels: { method, route, status: String(status) }, counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
    all.push(series);
    return series;
  };

  const metric = {
    name: options.name,
    help: options.help,
    type: 'histogram',
    aggregator: 'sum',
    /** prom-client's histogram shape: `le` as the value's own label, the series' labels shared (written after it). */
    getForPromString() {
      const values: { metricName: string; labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number }[] = [];
      const bucket = `${options.name}_bucket`;
      for (const s of all) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += s.counts[i]!;
          values.push({ metricName: bucket, labels: { le }, sharedLabels: s.labels, value: cumulative });
        });
        values.push({ metricName: bucket, labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count });
        values.push({ metricName: `${options.name}_sum`, labels: {}, sharedLabels: s.labels, value: s.sum });
        values.push({ metricName: `${options.name}_count`, labels: {}, sharedLabels: s.labels, value: s.count });
      }
      return { name: options.name, help: options.help, type: 'histogram', aggregator: 'sum', values };
    },
    get() {
      const exported = metric.getForPromString();
      return { ...exported, values: exported.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
    },
    /** As prom-client's: every series goes (a route's next request starts a new one). */
    reset() {
      all.length = 0;
      for (const series of byRoute.values()) series.clear();
      epoch++;
    },
  };
  for (const registry of options.registers) registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);

  return {
    forRoute(route) {
      let byKey = byRoute.get(route);
      if (!byKey) byRoute.set(route, (byKey = new Map()));
      const routeSeries = byKey;
      // The last series used: a route answers the same method and status almost always.
      let last: Series | undefined;
      let lastMethod = '';
      let lastStatus = 0;
      let lastEpoch = epoch;
      return (method, status, seconds) => {
        let series = last;
        if (!series || status !== lastStatus || method !== lastMethod || lastEpoch !== epoch) {
          const key = `${method} ${status}`;
          series = routeSeries.get(key);
          if (!series) routeSeries.set(key, (series = newSeries(method, route, status)));
          last = series;
          lastEpoch = epoch;
          lastMethod = method;
          lastStatus = status;
        }
        let i = 0;
        while (i < bounds.length && seconds > bounds[i]!) i++;
        series.counts[i]!++;
        series.sum += seconds;
        series.count++;
      };
    },
  };
}
