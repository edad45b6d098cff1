// Reading QBO report documents (ProfitAndLoss, AgedReceivables …): nested Rows of ColData, amounts as strings.
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { ProviderApi, WidgetContext } from '../types.js';
import { QBO_MINOR_VERSION, realmIdSchema } from './hooks.js';

/** An amount cell: QBO writes money as a plain decimal string, and an empty string for "nothing". */
const amountText = z.string().regex(/^(-?\d+(\.\d+)?)?$/, 'not a QBO amount');

const colData = z.array(z.object({ value: z.string().optional(), id: z.string().optional() }));

export interface ReportRow {
  type?: string | undefined;
  group?: string | undefined;
  ColData?: { value?: string | undefined; id?: string | undefined }[] | undefined;
  Header?: { ColData?: { value?: string | undefined; id?: string | undefined }[] | undefined } | undefined;
  Rows?: { Row?: ReportRow[] | undefined } | undefined;
  Summary?: { ColData?: { value?: string | undefined; id?: string | undefined }[] | undefined } | undefined;
}

const reportRow: z.ZodType<ReportRow> = z.lazy(() =>
  z.object({
    type: z.string().optional(),
    group: z.string().optional(),
    ColData: colData.optional(),
    Header: z.object({ ColData: colData.optional() }).optional(),
    Rows: z.object({ Row: z.array(reportRow).optional() }).optional(),
    Summary: z.object({ ColData: colData.optional() }).optional(),
  }),
);

export const qboReport = z.object({
  Header: z.object({
    ReportName: z.string().optional(),
    Currency: z.string().optional(),
    StartPeriod: z.string().optional(),
    EndPeriod: z.string().optional(),
    ReportBasis: z.string().optional(),
    Option: z.array(z.object({ Name: z.string(), Value: z.string().optional() })).optional(),
  }),
  Columns: z.object({ Column: z.array(z.object({ ColTitle: z.string().optional(), ColType: z.string().optional() })).optional() }).optional(),
  // A company with nothing to report answers `"Rows": {}`.
  Rows: z.object({ Row: z.array(reportRow).optional() }).optional(),
});
export type QboReport = z.infer<typeof qboReport>;

/** The number in an amount cell (0 for an empty one); throws on anything that is not an amount. */
export function amountOf(value: string | undefined): number {
  const text = amountText.parse(value ?? '');
  return text === '' ? 0 : Number(text);
}

/** The company a connection reaches, checked again: it goes into URL paths. Without one, only a reconnect helps. */
export function realmOf(ctx: Pick<WidgetContext<unknown>, 'metadata'>): string {
  const realm = realmIdSchema.safeParse(ctx.metadata.realmId);
  if (!realm.success) throw new AppError('reauth_required', 'The QuickBooks connection names no company; reconnect it.');
  return realm.data;
}

/** One report for the connection's company, at the minor version the connector pins. */
export async function getReport(api: ProviderApi, realmId: string, name: string, query: Record<string, string> = {}): Promise<QboReport> {
  const body = await api.get(`/v3/company/${realmId}/reports/${name}`, { query: { ...query, minorversion: QBO_MINOR_VERSION } });
  return qboReport.parse(body);
}

/** The top-level rows of a report (none when the company has no data for it). */
export const rowsOf = (report: QboReport): ReportRow[] => report.Rows?.Row ?? [];

/** The total cells of a section: its Summary, or for computed lines (GrossProfit, NetIncome …) its Header in older answers. */
export const totalCellsOf = (row: ReportRow) => row.Summary?.ColData ?? row.Header?.ColData ?? row.ColData ?? [];

/** Rounds money to cents, so sums of decimal strings do not show float noise. */
export const cents = (n: number) => Math.round(n * 100) / 100;
