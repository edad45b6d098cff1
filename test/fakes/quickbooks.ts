// Fake Intuit (QuickBooks Online): Basic client auth and form bodies at the token endpoint, realmId on the
// redirect only, token answers without scope, a refresh-token value that changes (or not) on refresh with the
// previous value expiring, revocation with Basic + a JSON {token}, and CompanyInfo in QBO's JSON shapes.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { basicCredentials, bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthOptions, type FakeOAuthProvider } from './oauth-provider.js';

export const QUICKBOOKS_PATHS = {
  authorize: '/connect/oauth2',
  token: '/oauth2/v1/tokens/bearer',
  revoke: '/v2/oauth2/tokens/revoke',
  api: '',
};

export interface FakeCompany {
  realmId: string;
  name: string;
}

/** An account line of the P&L: positive amounts, in the home currency. */
export interface FakeLine {
  id: string;
  name: string;
  amount: number;
}

export interface FakeQboInvoice {
  Id: string;
  DocNumber?: string;
  TxnDate: string;
  DueDate: string;
  Balance: number;
  TotalAmt: number;
  CustomerRef: { value: string; name: string };
  CurrencyRef?: { value: string; name: string };
}

export interface FakeBooks {
  currency: string;
  pnl: { income: FakeLine[]; cogs: FakeLine[]; expenses: FakeLine[]; otherIncome: FakeLine[]; otherExpenses: FakeLine[] };
  /** Receivables per customer: current, 1–30, 31–60, 61–90, 91 and over. */
  aging: { id: string; name: string; buckets: [number, number, number, number, number] }[];
  invoices: FakeQboInvoice[];
}

export interface FakeQuickBooks extends FakeOAuthProvider {
  /** The company the next consent connects. */
  setCompany(company: FakeCompany): void;
  /** Whether refreshing changes the refresh token's value (Intuit changes it about daily, not on every call). */
  setRefreshRotation(rotate: boolean): void;
  /** What each revocation call carried. */
  revokeRequests: { basicClientId?: string; contentType: string; body: unknown }[];
  /** A company's books, which the accounting API answers from (created empty on first use). */
  books(realmId: string): FakeBooks;
  /** Accounting API control: failures answered first (status + headers), a delay, calls and what they asked. */
  api: { calls: number; delayMs: number; failures: { status: number; headers?: Record<string, string> }[]; requests: { path: string; query: Record<string, string> }[] };
}

const fault = (type: string, code: string, message: string) => ({
  Fault: { Error: [{ Message: message, Detail: message, code }], type },
  time: new Date().toISOString(),
});

export async function startFakeQuickBooks(): Promise<FakeQuickBooks> {
  let company: FakeCompany = { realmId: '9341452987115460', name: 'Acme Manufacturing LLC' };
  const revokeRequests: FakeQuickBooks['revokeRequests'] = [];
  const api: FakeQuickBooks['api'] = { calls: 0, delayMs: 0, failures: [], requests: [] };
  const books = new Map<string, FakeBooks>();
  const booksOf = (realmId: string) => {
    let b = books.get(realmId);
    if (!b) books.set(realmId, (b = { currency: 'USD', pnl: { income: [], cogs: [], expenses: [], otherIncome: [], otherExpenses: [] }, aging: [], invoices: [] }));
    return b;
  };
  const options: FakeOAuthOptions = {
    clientAuth: 'basic',
    bodyFormat: 'form',
    // ⚠ Intuit's own SDK sends no PKCE: the fake takes either, the hub sends none.
    pkce: 'optional',
    refresh: 'rotating',
    // A previous value is refused below without killing the grant (Intuit expires it; no family revocation).
    reuseDetection: false,
    accessTtlSeconds: 3600,
    paths: { authorize: QUICKBOOKS_PATHS.authorize, token: QUICKBOOKS_PATHS.token },
    grantExtra: () => ({ ...company }),
    callbackExtras: (grant) => ({ realmId: String(grant.extra.realmId) }),
    // Intuit's bearer answer: no scope member, the refresh token always present (changed or not).
    tokenBody: ({ grant }) => ({
      token_type: 'bearer',
      expires_in: 3600,
      refresh_token: grant.refreshToken,
      x_refresh_token_expires_in: 8_726_400,
      access_token: grant.accessToken,
    }),
  };
  const fake = (await startFakeOAuthProvider(options, (app, provider) => {
    app.addHook('preHandler', async (req, reply) => {
      if (req.method !== 'POST' || req.url !== QUICKBOOKS_PATHS.token) return;
      const body = (req.body ?? {}) as Record<string, string>;
      if (body.grant_type !== 'refresh_token') return;
      const retired = [...provider.grants.values()].some((g) => g.retiredRefreshTokens.includes(body.refresh_token ?? ''));
      if (retired) return reply.code(400).send({ error_description: 'Token invalid', error: 'invalid_grant' });
    });

    app.post(QUICKBOOKS_PATHS.revoke, async (req, reply) => {
      provider.calls.revokes++;
      const client = basicCredentials(req);
      revokeRequests.push({ basicClientId: client?.id, contentType: contentTypeOf(req), body: req.body });
      if (client?.id !== provider.clientId || client.secret !== provider.clientSecret) return reply.code(401).send({ error: 'invalid_client' });
      if (contentTypeOf(req) !== 'json') return reply.code(400).send({ error: 'invalid_request' });
      const token = (req.body as { token?: unknown } | undefined)?.token;
      const grant = typeof token === 'string' ? provider.grantOfToken(token) : undefined;
      if (grant) grant.revoked = true;
      return reply.code(200).send();
    });

    addAccountingApi(app, provider, api, booksOf);

    app.get<{ Params: { realmId: string; id: string } }>('/v3/company/:realmId/companyinfo/:id', async (req, reply) => {
      const grant = provider.grantOfAccessToken(bearerToken(req))!;
      if (req.params.id !== grant.extra.realmId) {
        return reply.code(403).send(fault('AuthorizationFault', '3100', 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403'));
      }
      return {
        CompanyInfo: {
          CompanyName: grant.extra.name,
          LegalName: `${String(grant.extra.name)} (legal)`,
          Country: 'US',
          Id: '1',
          SyncToken: '3',
          domain: 'QBO',
          sparse: false,
          MetaData: { CreateTime: '2019-07-01T10:00:00-07:00', LastUpdatedTime: '2026-01-15T09:30:00-08:00' },
        },
        time: new Date().toISOString(),
      };
    });
  })) as FakeQuickBooks;
  return Object.assign(fake, {
    api,
    books: booksOf,
    setCompany: (c: FakeCompany) => void (company = c),
    setRefreshRotation: (rotate: boolean) => void (options.refresh = rotate ? 'rotating' : 'static'),
    revokeRequests,
  });
}

// ---- Accounting API: reports and the query language, in QBO's JSON shapes and Fault envelopes ----

const DATE_MACROS = new Set(['Today', 'Yesterday', 'This Week', 'Last Week', 'This Week-to-date', 'Last Week-to-date', 'This Month', 'Last Month', 'This Month-to-date', 'Last Month-to-date', 'This Fiscal Quarter', 'Last Fiscal Quarter', 'This Fiscal Quarter-to-date', 'Last Fiscal Quarter-to-date', 'This Fiscal Year', 'Last Fiscal Year', 'This Fiscal Year-to-date', 'Last Fiscal Year-to-date']);
const INVOICE_QUERY = /^select\s+(\*|count\(\*\))\s+from\s+invoice\s+where\s+balance\s*>\s*'0'\s+and\s+duedate\s*<\s*'(\d{4}-\d{2}-\d{2})'(?:\s+orderby\s+duedate)?(?:\s+startposition\s+(\d+))?(?:\s+maxresults\s+(\d+))?\s*$/i;

const money = (n: number) => n.toFixed(2);
const sum = (lines: { amount: number }[]) => lines.reduce((s, l) => s + l.amount, 0);
const validation = (reply: FastifyReply, detail: string) => reply.code(400).send(fault('ValidationFault', '4000', detail));

function faultReply(reply: FastifyReply, status: number, headers: Record<string, string> = {}) {
  reply.code(status).headers(headers);
  if (status === 429) return reply.send(fault('ThrottlingFault', '3001', 'message=ThrottleExceeded; errorCode=003001; statusCode=429'));
  if (status === 401) return reply.send(fault('AuthenticationFault', '3200', 'message=AuthenticationFailed; errorCode=003200; statusCode=401'));
  return reply.send(fault('SystemFault', '10000', 'An application error has occurred while processing your request'));
}

function profitAndLoss(b: FakeBooks) {
  const { income, cogs, expenses, otherIncome, otherExpenses } = b.pnl;
  const section = (group: string, title: string, lines: FakeLine[]) =>
    lines.length
      ? [{
          Header: { ColData: [{ value: title }, { value: '' }] },
          Rows: { Row: lines.map((l) => ({ ColData: [{ value: l.name, id: l.id }, { value: money(l.amount) }], type: 'Data' })) },
          Summary: { ColData: [{ value: `Total ${title}` }, { value: money(sum(lines)) }] },
          type: 'Section',
          group,
        }]
      : [];
  const computed = (group: string, title: string, amount: number) => [{ Summary: { ColData: [{ value: title }, { value: money(amount) }] }, type: 'Section', group }];
  const gross = sum(income) - sum(cogs);
  const operating = gross - sum(expenses);
  const other = sum(otherIncome) - sum(otherExpenses);
  const any = [income, cogs, expenses, otherIncome, otherExpenses].some((l) => l.length);
  if (!any) return [];
  return [
    ...section('Income', 'Income', income), ...section('COGS', 'Cost of Goods Sold', cogs), ...computed('GrossProfit', 'Gross Profit', gross),
    ...section('Expenses', 'Expenses', expenses), ...computed('NetOperatingIncome', 'Net Operating Income', operating),
    ...section('OtherIncome', 'Other Income', otherIncome), ...section('OtherExpenses', 'Other Expenses', otherExpenses),
    ...(otherIncome.length || otherExpenses.length ? computed('NetOtherIncome', 'Net Other Income', other) : []),
    ...computed('NetIncome', 'Net Income', operating + other),
  ];
}

function addAccountingApi(app: FastifyInstance, provider: FakeOAuthProvider, api: FakeQuickBooks['api'], booksOf: (realmId: string) => FakeBooks) {
  app.addHook('onRequest', async (req, reply) => {
    const realm = /^\/v3\/company\/([^/?]+)/.exec(req.url)?.[1];
    if (!realm) return;
    api.calls++;
    api.requests.push({ path: req.url.split('?')[0]!, query: Object.fromEntries(new URL(req.url, 'http://x').searchParams) });
    if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
    const failure = api.failures.shift();
    if (failure) return faultReply(reply, failure.status, failure.headers);
    const grant = provider.grantOfAccessToken(bearerToken(req));
    if (!grant) return faultReply(reply, 401);
    if (realm !== grant.extra.realmId) {
      return reply.code(403).send(fault('AuthorizationFault', '3100', 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403'));
    }
    // QBO answers XML unless asked for JSON.
    if (!String(req.headers.accept ?? '').includes('application/json')) return reply.type('application/xml').send('<IntuitResponse/>');
  });

  const header = (name: string, b: FakeBooks, rows: unknown[], extra: Record<string, string> = {}) => ({
    Time: new Date().toISOString(), ReportName: name, ...extra, Currency: b.currency,
    Option: [{ Name: 'NoReportData', Value: String(rows.length === 0) }],
  });

  app.get<{ Params: { realmId: string }; Querystring: Record<string, string> }>('/v3/company/:realmId/reports/ProfitAndLoss', async (req, reply) => {
    const { date_macro: macro = 'This Fiscal Year-to-date', accounting_method: basis = 'Accrual' } = req.query;
    if (!DATE_MACROS.has(macro)) return validation(reply, `Invalid date_macro: ${macro}`);
    if (basis !== 'Cash' && basis !== 'Accrual') return validation(reply, `Invalid accounting_method: ${basis}`);
    const b = booksOf(req.params.realmId);
    const rows = profitAndLoss(b);
    return {
      Header: header('ProfitAndLoss', b, rows, { DateMacro: macro.toLowerCase(), ReportBasis: basis, StartPeriod: '2026-01-01', EndPeriod: '2026-12-31', SummarizeColumnsBy: 'Total' }),
      Columns: { Column: [{ ColTitle: '', ColType: 'Account' }, { ColTitle: 'Total', ColType: 'Money' }] },
      Rows: rows.length ? { Row: rows } : {},
    };
  });

  app.get<{ Params: { realmId: string } }>('/v3/company/:realmId/reports/AgedReceivables', async (req) => {
    const b = booksOf(req.params.realmId);
    const cell = (n: number) => ({ value: n ? money(n) : '' });
    const rows = b.aging.map((c) => ({ ColData: [{ value: c.name, id: c.id }, ...c.buckets.map(cell), cell(sum(c.buckets.map((amount) => ({ amount }))))] }));
    const totals = [0, 1, 2, 3, 4].map((i) => b.aging.reduce((s, c) => s + c.buckets[i]!, 0));
    const grand = { group: 'GrandTotal', type: 'Section', Summary: { ColData: [{ value: 'TOTAL' }, ...[...totals, totals.reduce((x, y) => x + y, 0)].map((n) => ({ value: money(n) }))] } };
    return {
      Header: header('AgedReceivables', b, rows, { DateMacro: 'today' }),
      Columns: { Column: [{ ColType: 'Customer', ColTitle: '' }, ...['Current', '1 - 30', '31 - 60', '61 - 90', '91 and over', 'Total'].map((t) => ({ ColType: 'Money', ColTitle: t }))] },
      Rows: rows.length ? { Row: [...rows, grand] } : {},
    };
  });

  app.get<{ Params: { realmId: string }; Querystring: { query?: string } }>('/v3/company/:realmId/query', async (req, reply) => {
    const match = INVOICE_QUERY.exec(req.query.query ?? '');
    if (!match) return validation(reply, `QueryParserError: Encountered an unsupported statement: ${req.query.query ?? ''}`);
    const [, what, before, start = '1', max = '100'] = match;
    if (Number(max) > 1000 || Number(start) < 1) return validation(reply, 'QueryValidationError: MAXRESULTS is at most 1000, STARTPOSITION at least 1');
    const matching = booksOf(req.params.realmId).invoices
      .filter((inv) => inv.Balance > 0 && inv.DueDate < before!)
      .sort((a, b) => a.DueDate.localeCompare(b.DueDate) || Number(a.Id) - Number(b.Id));
    const time = new Date().toISOString();
    if (what !== '*') return { QueryResponse: { totalCount: matching.length }, time };
    const page = matching.slice(Number(start) - 1, Number(start) - 1 + Number(max))
      .map((inv) => ({ ...inv, domain: 'QBO', sparse: false, SyncToken: '0', MetaData: { CreateTime: `${inv.TxnDate}T09:00:00-08:00`, LastUpdatedTime: `${inv.TxnDate}T09:00:00-08:00` } }));
    return { QueryResponse: page.length ? { Invoice: page, startPosition: Number(start), maxResults: page.length } : {}, time };
  });
}
