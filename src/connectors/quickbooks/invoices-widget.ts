// QuickBooks overdue invoices: unpaid invoices past their due date, oldest first, through the query endpoint.
import { z } from 'zod';
import type { ProviderApi, WidgetDefinition } from '../types.js';
import { QBO_MINOR_VERSION } from './hooks.js';
import { realmOf } from './report.js';
import { ACCOUNTING_SCOPE } from './reports-widgets.js';

/** QBO pages a query with STARTPOSITION/MAXRESULTS (up to 1000); 100 a page keeps each answer small. */
const PAGE_SIZE = 100;
/** At most 5 pages: the widget lists up to 500 invoices (the list shape's limit), and counts the rest. */
const MAX_ITEMS = 500;

const params = z.object({ limit: z.coerce.number().int().min(1).max(MAX_ITEMS).default(100) });

const invoice = z.object({
  Id: z.string(),
  DocNumber: z.string().optional(),
  DueDate: z.iso.date().optional(),
  Balance: z.number(),
  CustomerRef: z.object({ value: z.string(), name: z.string().optional() }).optional(),
  CurrencyRef: z.object({ value: z.string() }).optional(),
});
type Invoice = z.infer<typeof invoice>;

// An empty result is `"QueryResponse": {}`: no Invoice array, no totalCount.
const invoicePage = z.object({ QueryResponse: z.object({ Invoice: z.array(invoice).default([]) }) });
const countAnswer = z.object({ QueryResponse: z.object({ totalCount: z.number().int().nonnegative().default(0) }) });

const DAY_MS = 86_400_000;

/** Money as an executive reads it ("$1,234.50"); a bare number when QBO names no currency (home currency). */
function money(amount: number, currency: string | undefined): string {
  if (currency) {
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
    } catch {
      // Not an ISO 4217 code Intl knows: fall through to the code beside the number.
    }
  }
  const figure = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount);
  return currency ? `${currency} ${figure}` : figure;
}

async function query(api: ProviderApi, realmId: string, statement: string): Promise<unknown> {
  return api.get(`/v3/company/${realmId}/query`, { query: { query: statement, minorversion: QBO_MINOR_VERSION } });
}

export const invoiceWidgets = {
  'overdue-invoices': {
    title: 'Overdue invoices',
    description: 'Unpaid customer invoices past their due date, oldest first, with the balance due and days overdue.',
    kind: 'list',
    ttlSeconds: 900,
    scopes: [ACCOUNTING_SCOPE],
    params,
    async fetch(ctx) {
      const realmId = realmOf(ctx);
      // Due dates are calendar days; the company's time zone is not known here, so "today" is the UTC day.
      const today = ctx.now.toISOString().slice(0, 10);
      const where = `FROM Invoice WHERE Balance > '0' AND DueDate < '${today}'`;
      const items: Invoice[] = [];
      let complete = false;
      while (items.length < ctx.params.limit) {
        const size = Math.min(PAGE_SIZE, ctx.params.limit - items.length);
        const page = invoicePage.parse(
          await query(ctx.api, realmId, `SELECT * ${where} ORDERBY DueDate STARTPOSITION ${items.length + 1} MAXRESULTS ${size}`),
        ).QueryResponse.Invoice;
        items.push(...page);
        if (page.length < size) {
          complete = true;
          break;
        }
      }
      // Stopped at the limit: count the rest in one more call rather than paging through them.
      const total = complete ? items.length : countAnswer.parse(await query(ctx.api, realmId, `SELECT COUNT(*) ${where}`)).QueryResponse.totalCount;
      return {
        items: items.map((inv) => {
          const days = inv.DueDate ? Math.floor((Date.parse(today) - Date.parse(inv.DueDate)) / DAY_MS) : undefined;
          const customer = inv.CustomerRef?.name ?? `Customer ${inv.CustomerRef?.value ?? 'unknown'}`;
          return {
            id: inv.Id,
            title: `Invoice ${inv.DocNumber ?? inv.Id} · ${customer}`,
            subtitle: `${money(inv.Balance, inv.CurrencyRef?.value)} due${days !== undefined ? ` · ${days} day${days === 1 ? '' : 's'} overdue` : ''}`,
            status: 'overdue',
            ...(inv.DueDate ? { timestamp: new Date(inv.DueDate).toISOString() } : {}),
            url: `https://app.qbo.intuit.com/app/invoice?txnId=${encodeURIComponent(inv.Id)}`,
          };
        }),
        total: Math.max(total, items.length),
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof params>>,
};
