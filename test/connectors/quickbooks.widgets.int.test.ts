// QuickBooks widgets end to end against a fake QBO: reports (ProfitAndLoss, AgedReceivables), the query language
// paged with STARTPOSITION/MAXRESULTS, Fault envelopes, 429 + Retry-After, 5xx retried, 401 refreshed once.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QUICKBOOKS_PATHS, startFakeQuickBooks, type FakeBooks, type FakeQboInvoice, type FakeQuickBooks } from '../fakes/quickbooks.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeQuickBooks;
let t: TestApp;
let ws: string;
let id: string;
let books: FakeBooks;
let auth: { authorization: string };

beforeAll(async () => {
  fake = await startFakeQuickBooks();
  t = await buildTestApp(providerEnvFor('QUICKBOOKS', fake, QUICKBOOKS_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  // A company of its own for every test: its books start empty.
  const realmId = String(Math.floor(Math.random() * 1e15) + 1e15);
  fake.setCompany({ realmId, name: 'Northwind Traders' });
  books = fake.books(realmId);
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'quickbooks' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
});

const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const dataCalls = () => fake.api.requests.filter((r) => !r.path.includes('/companyinfo/'));
const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.parse(today()) - n * 86_400_000).toISOString().slice(0, 10);

let nextInvoice = 1000;
const invoice = (due: string, balance: number, extra: Partial<FakeQboInvoice> = {}): FakeQboInvoice => {
  const n = nextInvoice++;
  return { Id: String(n), DocNumber: `INV-${n}`, TxnDate: daysAgo(60), DueDate: due, Balance: balance, TotalAmt: balance, CustomerRef: { value: '7', name: 'Amy’s Bird Sanctuary' }, CurrencyRef: { value: 'USD', name: 'United States Dollar' }, ...extra };
};

function fillPnl() {
  books.pnl.income.push({ id: '79', name: 'Sales of Product Income', amount: 4239.96 }, { id: '1', name: 'Services', amount: 3307.5 });
  books.pnl.cogs.push({ id: '80', name: 'Cost of Goods Sold', amount: 2171.06 });
  books.pnl.expenses.push({ id: '7', name: 'Advertising', amount: 74.86 }, { id: '17', name: 'Rent or Lease', amount: 900 });
}

describe('profit-and-loss', () => {
  it('summarises the report by line, each as a share of income, for the period and basis asked', async () => {
    fillPnl();
    const res = await read('profit-and-loss', '?period=Last%20Month&accountingMethod=Cash');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'table', source: 'provider', stale: false });
    expect(res.json().data).toEqual({
      columns: [{ key: 'line', label: 'Line' }, { key: 'amount', label: 'Amount (USD)' }, { key: 'shareOfIncome', label: '% of income' }],
      rows: [
        { line: 'Income', amount: 7547.46, shareOfIncome: 100 },
        { line: 'Cost of goods sold', amount: 2171.06, shareOfIncome: 28.8 },
        { line: 'Gross profit', amount: 5376.4, shareOfIncome: 71.2 },
        { line: 'Expenses', amount: 974.86, shareOfIncome: 12.9 },
        { line: 'Net operating income', amount: 4401.54, shareOfIncome: 58.3 },
        { line: 'Net income', amount: 4401.54, shareOfIncome: 58.3 },
      ],
    });
    expect(dataCalls().at(-1)).toEqual({
      path: expect.stringMatching(/\/reports\/ProfitAndLoss$/),
      query: { date_macro: 'Last Month', accounting_method: 'Cash', minorversion: '75' },
    });
  });

  it('includes other income and expenses when the company has them', async () => {
    fillPnl();
    books.pnl.otherIncome.push({ id: '90', name: 'Interest Earned', amount: 100 });
    books.pnl.otherExpenses.push({ id: '91', name: 'Depreciation', amount: 250 });
    const rows = (await read('profit-and-loss')).json().data.rows;
    expect(rows.map((r: { line: string }) => r.line)).toEqual([
      'Income', 'Cost of goods sold', 'Gross profit', 'Expenses', 'Net operating income', 'Other income', 'Other expenses', 'Net other income', 'Net income',
    ]);
    expect(rows.at(-1)).toEqual({ line: 'Net income', amount: 4251.54, shareOfIncome: 56.3 });
    expect(dataCalls().at(-1)!.query).toMatchObject({ date_macro: 'This Fiscal Year-to-date', accounting_method: 'Accrual' });
  });

  it('answers no rows for a company with nothing on its books', async () => {
    const data = (await read('profit-and-loss')).json().data;
    expect(data.rows).toEqual([]);
    expect(data.columns).toHaveLength(3);
  });

  it('refuses unknown periods and bases with 400 before calling QBO', async () => {
    const before = dataCalls().length;
    for (const query of ['?period=Next%20Century', '?accountingMethod=Tax']) {
      const res = await read('profit-and-loss', query);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    expect(dataCalls().length).toBe(before);
  });
});

describe('receivables-aging', () => {
  it('lists the largest debtors by bucket, then the total over every customer', async () => {
    books.aging.push(
      { id: '4', name: 'Jane Litigious', buckets: [0, 0, 0, 0, 37.5] },
      { id: '5', name: 'Cool Cars', buckets: [694, 0, 0, 0, 0] },
      { id: '6', name: 'Geeta Kalapatapu', buckets: [0, 629.1, 0, 0, 0] },
    );
    const res = await read('receivables-aging', '?limit=2');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      columns: [
        { key: 'customer', label: 'Customer' },
        { key: 'current', label: 'Current' },
        { key: '1_30', label: '1 - 30' },
        { key: '31_60', label: '31 - 60' },
        { key: '61_90', label: '61 - 90' },
        { key: '91_and_over', label: '91 and over' },
        { key: 'total', label: 'Total' },
      ],
      rows: [
        { customer: 'Cool Cars', current: 694, '1_30': 0, '31_60': 0, '61_90': 0, '91_and_over': 0, total: 694 },
        { customer: 'Geeta Kalapatapu', current: 0, '1_30': 629.1, '31_60': 0, '61_90': 0, '91_and_over': 0, total: 629.1 },
        { customer: 'Total', current: 694, '1_30': 629.1, '31_60': 0, '61_90': 0, '91_and_over': 37.5, total: 1360.6 },
      ],
    });
    expect(dataCalls().at(-1)!.query).toEqual({ minorversion: '75' });
  });

  it('answers no rows when nobody owes anything, and 400 for a bad limit', async () => {
    expect((await read('receivables-aging')).json().data.rows).toEqual([]);
    for (const q of ['?limit=0', '?limit=51', '?limit=ten']) expect((await read('receivables-aging', q)).statusCode).toBe(400);
  });
});

describe('overdue-invoices', () => {
  it('lists unpaid invoices past due, oldest first, with what is due and for how long', async () => {
    books.invoices.push(
      invoice(daysAgo(3), 1200, { CurrencyRef: { value: 'EUR', name: 'Euro' } }),
      invoice(daysAgo(40), 99.5, { DocNumber: undefined, CustomerRef: { value: '9', name: 'Cool Cars' } }),
      invoice(daysAgo(1), 10),
      invoice(daysAgo(90), 0), // paid
      invoice(today(), 500), // due today: not overdue yet
      invoice(daysAgo(-5), 500), // due later
    );
    const [recent, old, yesterday] = books.invoices;
    const res = await read('overdue-invoices');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      items: [
        { id: old!.Id, title: `Invoice ${old!.Id} · Cool Cars`, subtitle: '$99.50 due · 40 days overdue', status: 'overdue', timestamp: `${daysAgo(40)}T00:00:00.000Z`, url: `https://app.qbo.intuit.com/app/invoice?txnId=${old!.Id}` },
        { id: recent!.Id, title: `Invoice ${recent!.DocNumber} · Amy’s Bird Sanctuary`, subtitle: '€1,200.00 due · 3 days overdue', status: 'overdue', timestamp: `${daysAgo(3)}T00:00:00.000Z`, url: `https://app.qbo.intuit.com/app/invoice?txnId=${recent!.Id}` },
        expect.objectContaining({ id: yesterday!.Id, subtitle: '$10.00 due · 1 day overdue' }),
      ],
      total: 3,
    });
    expect(dataCalls().at(-1)!.query).toEqual({
      query: `SELECT * FROM Invoice WHERE Balance > '0' AND DueDate < '${today()}' ORDERBY DueDate STARTPOSITION 1 MAXRESULTS 100`,
      minorversion: '75',
    });
  });

  it('pages with STARTPOSITION until a short page, and counts what lies beyond the limit', async () => {
    for (let i = 0; i < 230; i++) books.invoices.push(invoice(daysAgo(10 + (i % 30)), 100 + i));
    let before = dataCalls().length;
    const all = (await read('overdue-invoices', '?limit=500')).json().data;
    expect(all.items).toHaveLength(230);
    expect(all.total).toBe(230);
    expect(dataCalls().slice(before).map((r) => /STARTPOSITION (\d+) MAXRESULTS (\d+)/.exec(r.query.query!)!.slice(1).join('+'))).toEqual(['1+100', '101+100', '201+100']);
    expect(new Set(all.items.map((i: { id: string }) => i.id)).size).toBe(230);

    before = dataCalls().length;
    const some = (await read('overdue-invoices', '?limit=150')).json().data;
    expect(some.items).toHaveLength(150);
    expect(some.total).toBe(230);
    const calls = dataCalls().slice(before).map((r) => r.query.query!);
    expect(calls).toHaveLength(3);
    expect(calls[1]).toMatch(/STARTPOSITION 101 MAXRESULTS 50$/);
    expect(calls[2]).toBe(`SELECT COUNT(*) FROM Invoice WHERE Balance > '0' AND DueDate < '${today()}'`);
  });

  it('answers an empty list when nothing is overdue, and 400 for a bad limit', async () => {
    books.invoices.push(invoice(daysAgo(-3), 50));
    expect((await read('overdue-invoices')).json().data).toEqual({ items: [], total: 0 });
    for (const q of ['?limit=0', '?limit=501', '?limit=1.5']) expect((await read('overdue-invoices', q)).statusCode).toBe(400);
  });
});

describe.each(['profit-and-loss', 'receivables-aging', 'overdue-invoices'])('%s against a failing QBO', (widget) => {
  it('answers 429 provider_rate_limited with Retry-After when QBO throttles beyond the hub\'s wait', async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '60' } });
    const before = dataCalls().length;
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('60');
    expect(dataCalls().length - before).toBe(1);
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = dataCalls().length;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json().source).toBe('provider');
    expect(dataCalls().length - before).toBe(2);
  });

  it('refreshes the token once on a 401 and answers', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    grant.accessToken = 'revoked-by-intuit';
    const refreshes = fake.calls.refreshes;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(fake.calls.refreshes).toBe(refreshes + 1);
  });
});
