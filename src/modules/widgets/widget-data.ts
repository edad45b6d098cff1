// The four normalized shapes a widget answers (DESIGN.md): every fetch's output is validated against its kind.
import { z } from 'zod';

const isoTime = z.iso.datetime({ offset: true });

export const metricData = z.object({
  value: z.number(),
  unit: z.string().max(32).optional(),
  label: z.string().max(200),
  delta: z.object({ value: z.number(), period: z.string().max(64).optional() }).nullable().optional(),
});

export const listData = z.object({
  items: z
    .array(
      z.object({
        id: z.string().max(500),
        title: z.string().max(1000),
        subtitle: z.string().max(1000).optional(),
        url: z.url().optional(),
        status: z.string().max(100).optional(),
        timestamp: isoTime.optional(),
      }),
    )
    .max(500),
  /** The provider's total when it is larger than the items returned. */
  total: z.number().int().nonnegative().optional(),
});

export const timeseriesData = z.object({
  series: z
    .array(z.object({ name: z.string().max(200), points: z.array(z.tuple([isoTime, z.number()])).max(5000) }))
    .max(50),
  unit: z.string().max(32).optional(),
});

export const tableData = z.object({
  columns: z.array(z.object({ key: z.string().max(100), label: z.string().max(200) })).max(50),
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))).max(1000),
});

export const WIDGET_DATA = { metric: metricData, list: listData, timeseries: timeseriesData, table: tableData } as const;

export type WidgetKind = keyof typeof WIDGET_DATA;
export type MetricData = z.infer<typeof metricData>;
export type ListData = z.infer<typeof listData>;
export type TimeseriesData = z.infer<typeof timeseriesData>;
export type TableData = z.infer<typeof tableData>;
export type WidgetData = MetricData | ListData | TimeseriesData | TableData;
