// Xero widgets for the CFO: the Executive Summary report, and overdue sales invoices (paged).
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { cellValue, money, parseXeroDate, reportsAnswer } from './accounting-api.js';

/** Invoices come 100 to a page by default (`pageSize` goes to 1000); 100 keeps each answer small. */
const PAGE_SIZE = 100;
/** At most 5 pages (500 invoices, the list shape's limit): 5 of the tenant's 60 calls a minute. */
const MAX_ITEMS = 500;

const summaryParams = z.object({
  /** The month the summary covers (against the month before); Xero's default is the current month. */
  date: z.iso.date().optional(),
});

const overdueParams = z.object({ limit: z.coerce.number().int().min(1).max(MAX_ITEMS).default(100) });

const invoicesPage = z.object({
  Invoices: z
    .array(
      z.object({
        InvoiceID: z.string(),
        InvoiceNumber: z.string().optional(),
        Type: z.string().optional(),
        Status: z.string().optional(),
        Contact: z.object({ Name: z.string().optional() }).optional(),
        DueDate: z.string().optional(),
        AmountDue: z.number(),
        CurrencyCode: z.string().optional(),
      }),
    )
    .default([]),
  // Paged answers say how many pages and items there are (older answers do not).
  pagination: z.object({ page: z.number(), pageSize: z.number(), pageCount: z.number(), itemCount: z.number() }).optional(),
});
type Invoice = z.infer<typeof invoicesPage>['Invoices'][number];

const DAY_MS = 86_400_000;

export const widgets = {
  'executive-summary': {
    title: 'Executive summary',
    description: 'Cash, profitability, balance sheet, income and performance figures for the month, against the month before (ExecutiveSummary report).',
    kind: 'table',
    ttlSeconds: 3600,
    scopes: ['accounting.reports.executivesummary.read'],
    params: summaryParams,
    // One report document: Xero reports are not paginated.
    async fetch({ api, params }) {
      const answer = reportsAnswer.parse(await api.get('/Reports/ExecutiveSummary', { query: { date: params.date } }));
      const rows = answer.Reports[0]!.Rows;
      // The header row names the periods compared ("Apr 2026", "Mar 2026", "Variance").
      const header = rows.find((r) => r.RowType === 'Header')?.Cells ?? [];
      const label = (i: number, fallback: string) => header[i]?.Value || fallback;
      return {
        columns: [
          { key: 'section', label: 'Section' },
          { key: 'metric', label: 'Metric' },
          { key: 'current', label: label(1, 'This month') },
          { key: 'previous', label: label(2, 'Last month') },
          { key: 'variance', label: label(3, 'Variance') },
        ],
        rows: rows
          .filter((r) => r.RowType === 'Section')
          .flatMap((section) =>
            (section.Rows ?? [])
              .filter((r) => r.RowType === 'Row' || r.RowType === 'SummaryRow')
              .map((r) => ({
                section: section.Title ?? '',
                metric: r.Cells?.[0]?.Value ?? '',
                current: cellValue(r.Cells?.[1]?.Value),
                previous: cellValue(r.Cells?.[2]?.Value),
                variance: cellValue(r.Cells?.[3]?.Value),
              })),
          ),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof summaryParams>>,

  'overdue-invoices': {
    title: 'Overdue invoices',
    description: 'Approved sales invoices still owed after their due date, oldest first, with the amount due and days overdue.',
    kind: 'list',
    ttlSeconds: 900,
    scopes: ['accounting.invoices.read'],
    params: overdueParams,
    async fetch({ api, params, now }) {
      // Due dates are calendar days in the organisation's zone; "today" here is the UTC day.
      const today = new Date(now.toISOString().slice(0, 10));
      const [y, m, d] = [today.getUTCFullYear(), today.getUTCMonth() + 1, today.getUTCDate()];
      const query = {
        // AUTHORISED = approved and awaiting payment (part-paid ones included); ACCREC = sales, not bills.
        Statuses: 'AUTHORISED',
        where: `Type=="ACCREC" AND DueDate<DateTime(${y},${String(m).padStart(2, '0')},${String(d).padStart(2, '0')})`,
        order: 'DueDate ASC',
        pageSize: PAGE_SIZE,
        // Leaves line items out: lighter answers, and the widget does not need them.
        summaryOnly: true,
      };
      const invoices: Invoice[] = [];
      let total: number | undefined;
      for (let page = 1; invoices.length < params.limit; page++) {
        const answer = invoicesPage.parse(await api.get('/Invoices', { query: { ...query, page } }));
        invoices.push(...answer.Invoices);
        total = answer.pagination?.itemCount;
        const last = answer.pagination ? page >= answer.pagination.pageCount : answer.Invoices.length < PAGE_SIZE;
        if (last) {
          total ??= invoices.length;
          break;
        }
      }
      const overdue = invoices.filter((inv) => inv.AmountDue > 0).slice(0, params.limit);
      return {
        items: overdue.map((inv) => {
          const due = inv.DueDate ? parseXeroDate(inv.DueDate) : undefined;
          const days = due ? Math.floor((today.getTime() - due.getTime()) / DAY_MS) : undefined;
          return {
            id: inv.InvoiceID,
            title: `${inv.InvoiceNumber || 'Invoice'} · ${inv.Contact?.Name ?? 'Unknown contact'}`,
            subtitle: `${money(inv.AmountDue, inv.CurrencyCode)} due${days !== undefined ? ` · ${days} day${days === 1 ? '' : 's'} overdue` : ''}`,
            status: 'overdue',
            ...(due ? { timestamp: due.toISOString() } : {}),
            // Opens in the organisation the user last used in Xero.
            url: `https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID=${encodeURIComponent(inv.InvoiceID)}`,
          };
        }),
        ...(total !== undefined ? { total: Math.max(total, overdue.length) } : {}),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof overdueParams>>,
};
