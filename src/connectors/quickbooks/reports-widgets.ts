// QuickBooks report widgets: the profit and loss summary, and receivables by age for the largest debtors.
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { amountOf, cents, getReport, realmOf, rowsOf, totalCellsOf, type ReportRow } from './report.js';

/** The accounting scope is the only one QBO has for reading the books (and has no read-only variant). */
export const ACCOUNTING_SCOPE = 'com.intuit.quickbooks.accounting';

/** QBO's own date macros for the periods an executive looks at (the report's `date_macro`). */
const PERIODS = [
  'This Month-to-date',
  'Last Month',
  'This Fiscal Quarter-to-date',
  'Last Fiscal Quarter',
  'This Fiscal Year-to-date',
  'Last Fiscal Year',
] as const;

const profitAndLossParams = z.object({
  period: z.enum(PERIODS).default('This Fiscal Year-to-date'),
  accountingMethod: z.enum(['Accrual', 'Cash']).default('Accrual'),
});

/** The summary lines of a ProfitAndLoss report, by the section `group` QBO names them with, in report order. */
const PNL_LINES: Record<string, string> = {
  Income: 'Income',
  COGS: 'Cost of goods sold',
  GrossProfit: 'Gross profit',
  Expenses: 'Expenses',
  NetOperatingIncome: 'Net operating income',
  OtherIncome: 'Other income',
  OtherExpenses: 'Other expenses',
  NetOtherIncome: 'Net other income',
  NetIncome: 'Net income',
};

const agingParams = z.object({ limit: z.coerce.number().int().min(1).max(50).default(10) });

/** A stable column key from a QBO column title ("1 - 30" → "1_30", "91 and over" → "91_and_over"). */
const keyOf = (title: string, index: number) => title.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || `column_${index}`;

/**
 * One line per customer: plain data rows, and customers with sub-customers (jobs), which QBO answers as a
 * section named in its Header with the customer's totals in its Summary.
 */
function customerLines(rows: ReportRow[]): { name: string; cells: { value?: string | undefined }[] }[] {
  return rows.flatMap((row) => {
    if (row.group === 'GrandTotal') return [];
    if (row.ColData) return [{ name: row.ColData[0]?.value ?? '', cells: row.ColData.slice(1) }];
    const summary = row.Summary?.ColData;
    if (!summary) return [];
    return [{ name: row.Header?.ColData?.[0]?.value ?? summary[0]?.value ?? '', cells: summary.slice(1) }];
  });
}

export const reportWidgets = {
  'profit-and-loss': {
    title: 'Profit and loss',
    description: 'Income, costs, expenses and net income for a period, with each line as a share of income (ProfitAndLoss report).',
    kind: 'table',
    // Books change through the day, but a P&L is read for its trend, not to the minute.
    ttlSeconds: 3600,
    scopes: [ACCOUNTING_SCOPE],
    params: profitAndLossParams,
    // One report document: QBO reports are not paginated.
    async fetch(ctx) {
      const report = await getReport(ctx.api, realmOf(ctx), 'ProfitAndLoss', {
        date_macro: ctx.params.period,
        accounting_method: ctx.params.accountingMethod,
      });
      const lines = rowsOf(report)
        .filter((row) => row.group && row.group in PNL_LINES)
        .map((row) => ({ group: row.group!, amount: cents(amountOf(totalCellsOf(row).at(-1)?.value)) }));
      const income = lines.find((l) => l.group === 'Income')?.amount ?? 0;
      const currency = report.Header.Currency;
      return {
        columns: [
          { key: 'line', label: 'Line' },
          { key: 'amount', label: currency ? `Amount (${currency})` : 'Amount' },
          { key: 'shareOfIncome', label: '% of income' },
        ],
        rows: lines.map((l) => ({
          line: PNL_LINES[l.group]!,
          amount: l.amount,
          shareOfIncome: income ? Math.round((l.amount / income) * 1000) / 10 : null,
        })),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof profitAndLossParams>>,

  'receivables-aging': {
    title: 'Receivables by age',
    description: 'What customers owe, in ageing buckets (current, 1–30 days … over 90), for the largest debtors and in total (AgedReceivables report).',
    kind: 'table',
    ttlSeconds: 1800,
    scopes: [ACCOUNTING_SCOPE],
    params: agingParams,
    // One report document (not paginated); the largest `limit` customers are kept, the total covers them all.
    async fetch(ctx) {
      const report = await getReport(ctx.api, realmOf(ctx), 'AgedReceivables');
      const titles = (report.Columns?.Column ?? []).map((c) => c.ColTitle ?? '');
      // The first column names the customer; the others are the buckets and the total, as the report sets them.
      const amountKeys = titles.slice(1).map((title, i) => keyOf(title, i + 1));
      const columns = [
        { key: 'customer', label: 'Customer' },
        ...amountKeys.map((key, i) => ({ key, label: titles[i + 1] || key })),
      ];
      const toRow = (name: string, cells: { value?: string | undefined }[]) =>
        Object.fromEntries([['customer', name], ...amountKeys.map((key, i) => [key, cents(amountOf(cells[i]?.value))])]) as Record<string, string | number>;

      const rows = rowsOf(report);
      const totalKey = amountKeys.at(-1);
      const customers = customerLines(rows)
        .map((c) => toRow(c.name, c.cells))
        .sort((a, b) => (totalKey ? Number(b[totalKey]) - Number(a[totalKey]) : 0) || String(a.customer).localeCompare(String(b.customer)))
        .slice(0, ctx.params.limit);
      const grand = rows.find((row) => row.group === 'GrandTotal')?.Summary?.ColData;
      return { columns, rows: grand && customers.length ? [...customers, toRow('Total', grand.slice(1))] : customers };
    },
  } satisfies WidgetDefinition<z.infer<typeof agingParams>>,
};
