// Reading Xero Accounting API answers: report documents (Rows of Cells) and Microsoft JSON dates ("/Date(…)/").
import { z } from 'zod';

const cells = z.array(z.object({ Value: z.string().optional() }));

export interface XeroReportRow {
  RowType: string;
  Title?: string | undefined;
  Cells?: { Value?: string | undefined }[] | undefined;
  Rows?: XeroReportRow[] | undefined;
}

const reportRow: z.ZodType<XeroReportRow> = z.lazy(() =>
  z.object({ RowType: z.string(), Title: z.string().optional(), Cells: cells.optional(), Rows: z.array(reportRow).optional() }),
);

export const reportsAnswer = z.object({
  Reports: z
    .array(
      z.object({
        ReportID: z.string().optional(),
        ReportName: z.string().optional(),
        ReportTitles: z.array(z.string()).optional(),
        ReportDate: z.string().optional(),
        Rows: z.array(reportRow).default([]),
      }),
    )
    .min(1),
});

/**
 * A report cell as a value: numbers (Xero writes "1234.56", sometimes with thousands separators) become
 * numbers, an empty cell null, anything else (percentages, "n/a") stays as Xero wrote it.
 */
export function cellValue(value: string | undefined): string | number | null {
  const text = (value ?? '').trim();
  if (text === '') return null;
  const plain = text.replace(/,/g, '');
  return /^-?\d+(\.\d+)?$/.test(plain) ? Number(plain) : text;
}

const MS_DATE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;

/** An instant from Xero's "/Date(1518685950940+0000)/" (epoch milliseconds; the offset only says where). */
export function parseXeroDate(value: string): Date | undefined {
  const match = MS_DATE.exec(value);
  if (match) return new Date(Number(match[1]));
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed);
}

/** Money as an executive reads it ("$1,234.50", "NZ$980.00"), or the code beside the number when Intl lacks it. */
export function money(amount: number, currency: string | undefined): string {
  if (currency) {
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
    } catch {
      // Fall through to the plain figure.
    }
  }
  const figure = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount);
  return currency ? `${currency} ${figure}` : figure;
}
