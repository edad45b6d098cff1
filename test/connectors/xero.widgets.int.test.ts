// Xero widgets end to end against a fake Xero Accounting API: Xero-tenant-id on every call, granular scopes,
// the Executive Summary report, invoices paged with page/pageSize, 429 + Retry-After or X-MinLimit-Remaining.
import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { XERO_PATHS, startFakeXero, tenant, type FakeXero, type FakeXeroBooks, type FakeXeroInvoice } from '../fakes/xero.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeXero;
let t: TestApp;
let ws: string;
let id: string;
let tenantId: string;
let books: FakeXeroBooks;
let auth: { authorization: string };

beforeAll(async () => {
  fake = await startFakeXero();
  t = await buildTestApp(providerEnvFor('XERO', fake, XERO_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  // An organisation of its own for every test (its books start empty, its minute quota is fresh).
  const org = tenant(`Org ${randomUUID().slice(0, 8)}`);
  fake.setConsentTenants([org]);
  tenantId = org.tenantId;
  books = fake.books(tenantId);
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'xero' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
});

const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const calls = () => fake.api.requests.filter((r) => r.tenantId === tenantId);
const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.parse(today()) - n * 86_400_000).toISOString().slice(0, 10);

let nextNumber = 1;
const invoice = (dueDate: string, amountDue: number, extra: Partial<FakeXeroInvoice> = {}): FakeXeroInvoice => ({
  InvoiceID: randomUUID(),
  InvoiceNumber: `INV-${String(nextNumber++).padStart(5, '0')}`,
  Type: 'ACCREC',
  Status: 'AUTHORISED',
  contactName: 'Ridgeway University',
  dueDate,
  total: amountDue,
  amountDue,
  currency: 'NZD',
  ...extra,
});

describe('executive-summary', () => {
  it('reads the month against the month before, section by section, for the tenant of the connection', async () => {
    books.executiveSummary.push(
      { title: 'Cash', rows: [{ label: 'Cash received', current: '12000.00', previous: '10000.00' }, { label: 'Cash spent', current: '8000.00', previous: '' }] },
      { title: 'Profitability', rows: [{ label: 'Income', current: '15500.50', previous: '15500.50' }] },
      { title: 'Performance', rows: [{ label: 'Gross profit margin', current: '45.5%', previous: '40.1%' }] },
    );
    const res = await read('executive-summary', '?date=2026-04-15');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'table', source: 'provider' });
    expect(res.json().data).toEqual({
      columns: [
        { key: 'section', label: 'Section' },
        { key: 'metric', label: 'Metric' },
        { key: 'current', label: 'Apr 2026' },
        { key: 'previous', label: 'Mar 2026' },
        { key: 'variance', label: 'Variance' },
      ],
      rows: [
        { section: 'Cash', metric: 'Cash received', current: 12000, previous: 10000, variance: '20.0%' },
        { section: 'Cash', metric: 'Cash spent', current: 8000, previous: null, variance: null },
        { section: 'Profitability', metric: 'Income', current: 15500.5, previous: 15500.5, variance: '0.0%' },
        { section: 'Performance', metric: 'Gross profit margin', current: '45.5%', previous: '40.1%', variance: null },
      ],
    });
    expect(calls().at(-1)).toEqual({ path: '/Reports/ExecutiveSummary', query: { date: '2026-04-15' }, tenantId });
  });

  it("leaves the date to Xero (this month) when none is asked, and answers no rows for an empty organisation", async () => {
    const data = (await read('executive-summary')).json().data;
    expect(data.rows).toEqual([]);
    expect(data.columns[2].label).toBe(new Date().toLocaleString('en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' }));
    expect(calls().at(-1)!.query).toEqual({});
  });

  it('refuses a bad date with 400 before calling Xero', async () => {
    const before = calls().length;
    for (const q of ['?date=2026-13-01', '?date=yesterday', '?date=15%2F04%2F2026']) {
      const res = await read('executive-summary', q);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().errors[0].path).toBe('querystring.date');
    }
    expect(calls().length).toBe(before);
  });

  it('answers 403 insufficient_scope, without calling Xero, for a connection made without the report scope', async () => {
    const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, id));
    await t.deps.database.db.update(connections).set({ scopes: row!.scopes.filter((s) => s !== 'accounting.reports.executivesummary.read') }).where(eq(connections.id, id));
    const before = calls().length;
    const res = await read('executive-summary');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    expect(calls().length).toBe(before);
  });
});

describe('overdue-invoices', () => {
  it('lists approved sales invoices past due, oldest first, with amount due and days overdue', async () => {
    books.invoices.push(
      invoice(daysAgo(5), 1500, { currency: 'USD' }),
      invoice(daysAgo(31), 230.4, { contactName: 'Bayside Club' }),
      invoice(daysAgo(1), 80),
      invoice(daysAgo(40), 999, { Type: 'ACCPAY' }), // a bill, not a receivable
      invoice(daysAgo(50), 0, { Status: 'PAID' }),
      invoice(daysAgo(60), 700, { Status: 'DRAFT' }),
      invoice(today(), 120), // due today
      invoice(daysAgo(-10), 120), // due later
    );
    const [usd, bayside, yesterday] = books.invoices;
    const res = await read('overdue-invoices');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      items: [
        {
          id: bayside!.InvoiceID,
          title: `${bayside!.InvoiceNumber} · Bayside Club`,
          subtitle: 'NZ$230.40 due · 31 days overdue',
          status: 'overdue',
          timestamp: `${daysAgo(31)}T00:00:00.000Z`,
          url: `https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID=${bayside!.InvoiceID}`,
        },
        expect.objectContaining({ id: usd!.InvoiceID, subtitle: '$1,500.00 due · 5 days overdue' }),
        expect.objectContaining({ id: yesterday!.InvoiceID, subtitle: 'NZ$80.00 due · 1 day overdue' }),
      ],
      total: 3,
    });
    const [y, m, d] = today().split('-');
    expect(calls().at(-1)).toMatchObject({
      path: '/Invoices',
      query: { Statuses: 'AUTHORISED', where: `Type=="ACCREC" AND DueDate<DateTime(${y},${m},${d})`, order: 'DueDate ASC', page: '1', pageSize: '100', summaryOnly: 'true' },
    });
  });

  it('follows pages to the limit and takes the total from the pagination block', async () => {
    for (let i = 0; i < 230; i++) books.invoices.push(invoice(daysAgo(2 + (i % 20)), 10 + i));
    let before = calls().length;
    const all = (await read('overdue-invoices', '?limit=500')).json().data;
    expect(all.items).toHaveLength(230);
    expect(new Set(all.items.map((i: { id: string }) => i.id)).size).toBe(230);
    expect(all.total).toBe(230);
    expect(calls().slice(before).map((c) => c.query.page)).toEqual(['1', '2', '3']);

    before = calls().length;
    const some = (await read('overdue-invoices', '?limit=150')).json().data;
    expect(some.items).toHaveLength(150);
    expect(some.total).toBe(230);
    expect(calls().slice(before).map((c) => c.query.page)).toEqual(['1', '2']);
  });

  it('answers an empty list when nothing is overdue, and 400 for a bad limit', async () => {
    books.invoices.push(invoice(daysAgo(-1), 10));
    expect((await read('overdue-invoices')).json().data).toEqual({ items: [], total: 0 });
    for (const q of ['?limit=0', '?limit=501', '?limit=many']) expect((await read('overdue-invoices', q)).statusCode).toBe(400);
  });
});

describe.each(['executive-summary', 'overdue-invoices'])('%s against a failing Xero', (widget) => {
  it('answers 429 provider_rate_limited with Retry-After when Xero limits beyond the hub\'s wait', async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '45', 'x-rate-limit-problem': 'minute' } });
    const before = calls().length;
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('45');
    expect(calls().length - before).toBe(1);
  });

  it('reads an exhausted minute quota (X-MinLimit-Remaining: 0) as a minute to wait', async () => {
    fake.api.failures.push({ status: 429, headers: { 'x-minlimit-remaining': '0', 'x-rate-limit-problem': 'minute' } });
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('60');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = calls().length;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(calls().length - before).toBe(2);
  });

  it('refreshes the token once on a 401 and answers', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    grant.accessToken = 'revoked-by-xero';
    const refreshes = fake.calls.refreshes;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(fake.calls.refreshes).toBe(refreshes + 1);
  });
});
