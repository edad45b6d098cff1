// Fake Xero: Basic client auth and form bodies, PKCE, JWT access tokens carrying authentication_event_id,
// single-use refresh tokens with a 30-minute grace for the previous one, GET /connections listing every tenant
// the user gave the app (earlier consents included), and revocation (form token + Basic) ending the grant.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { basicCredentials, bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeGrant, type FakeOAuthProvider } from './oauth-provider.js';

export const XERO_PATHS = {
  authorize: '/identity/connect/authorize',
  token: '/connect/token',
  revoke: '/connect/revocation',
  api: '/api.xro/2.0',
};

export const REFRESH_GRACE_MS = 30 * 60_000;

export interface FakeTenant {
  tenantId: string;
  tenantName: string;
  tenantType: 'ORGANISATION' | 'PRACTICE' | 'PRACTICEMANAGER';
}

/** One row of GET /connections, as Xero answers it. */
export interface XeroConnectionRow extends FakeTenant {
  id: string;
  authEventId: string;
  createdDateUtc: string;
  updatedDateUtc: string;
}

export interface FakeXeroInvoice {
  InvoiceID: string;
  InvoiceNumber: string;
  Type: 'ACCREC' | 'ACCPAY';
  Status: 'DRAFT' | 'SUBMITTED' | 'AUTHORISED' | 'PAID' | 'VOIDED';
  contactName: string;
  /** YYYY-MM-DD */
  dueDate: string;
  total: number;
  amountDue: number;
  currency: string;
}

/** One section of the Executive Summary: each row's figure this month and last month, as Xero writes them. */
export interface FakeSummarySection {
  title: string;
  rows: { label: string; current: string; previous: string }[];
}

export interface FakeXeroBooks {
  executiveSummary: FakeSummarySection[];
  invoices: FakeXeroInvoice[];
}

export interface FakeXero extends FakeOAuthProvider {
  /** An organisation's books, which the Accounting API answers from (created empty on first use). */
  books(tenantId: string): FakeXeroBooks;
  /** Accounting API control: failures answered first (status + headers), a delay, calls and what they asked. */
  api: { calls: number; delayMs: number; failures: { status: number; headers?: Record<string, string> }[]; requests: { path: string; query: Record<string, string>; tenantId?: string }[] };
  /** The tenants the user ticks in the next consent (empty: the user ticked none). */
  setConsentTenants(tenants: FakeTenant[]): void;
  /** Tenants the same user authorised earlier, in other consents (other auth events). */
  earlierConnections: XeroConnectionRow[];
  revokeRequests: { basicClientId?: string; contentType: string; body: unknown }[];
}

export const tenant = (tenantName: string, tenantType: FakeTenant['tenantType'] = 'ORGANISATION'): FakeTenant => ({
  tenantId: randomUUID(),
  tenantName,
  tenantType,
});

export function connectionRow(t: FakeTenant, authEventId = randomUUID()): XeroConnectionRow {
  const now = new Date().toISOString().replace('Z', '0000');
  return { id: randomUUID(), authEventId, ...t, createdDateUtc: now, updatedDateUtc: now };
}

const signingKey = randomBytes(32);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT shaped like Xero's access tokens (Xero signs RS256; the hub never verifies, so HS256 does here). */
function accessJwt(grant: FakeGrant, clientId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: 'HS256', kid: '1CAF8E66772D6DC028D6726FD0261581570EFC19', typ: 'JWT' });
  const payload = b64url({
    nbf: now, exp: now + 1800, iss: 'https://identity.xero.com', aud: 'https://identity.xero.com/resources',
    client_id: clientId, sub: grant.extra.userId, auth_time: now, xero_userid: grant.extra.userId,
    global_session_id: randomUUID().replace(/-/g, ''), jti: randomUUID().replace(/-/g, ''),
    authentication_event_id: grant.extra.authEventId, scope: grant.scope.split(' '), amr: ['pwd'],
  });
  const signature = createHmac('sha256', signingKey).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export async function startFakeXero(): Promise<FakeXero> {
  const userId = randomUUID();
  let consentTenants: FakeTenant[] = [tenant('Demo Company (Global)')];
  const earlierConnections: XeroConnectionRow[] = [];
  const revokeRequests: FakeXero['revokeRequests'] = [];
  const retiredAt = new Map<string, number>();
  let clientId = '';
  const api: FakeXero['api'] = { calls: 0, delayMs: 0, failures: [], requests: [] };
  const books = new Map<string, FakeXeroBooks>();
  const booksOf = (tenantId: string) => {
    let b = books.get(tenantId);
    if (!b) books.set(tenantId, (b = { executiveSummary: [], invoices: [] }));
    return b;
  };

  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'basic',
      bodyFormat: 'form',
      pkce: 'optional',
      refresh: 'rotating',
      // The previous refresh token stays usable for the grace period (below), so no family revocation.
      reuseDetection: false,
      accessTtlSeconds: 1800,
      paths: { authorize: XERO_PATHS.authorize, token: XERO_PATHS.token },
      grantExtra: () => {
        const authEventId = randomUUID();
        return { userId, authEventId, connections: consentTenants.map((t) => connectionRow(t, authEventId)) };
      },
      tokenBody: ({ grant }) => {
        for (const old of grant.retiredRefreshTokens) if (!retiredAt.has(old)) retiredAt.set(old, Date.now());
        grant.accessToken = accessJwt(grant, clientId);
        return { access_token: grant.accessToken, expires_in: 1800, token_type: 'Bearer', refresh_token: grant.refreshToken, scope: grant.scope };
      },
      // Xero's identity server: {"error":"invalid_grant"} and friends, no description.
      errorReply: ({ status, error }) => ({ status: status === 401 ? 400 : status, body: { error } }),
    },
    (app, provider) => {
      app.addHook('preHandler', async (req, reply) => {
        if (req.method !== 'POST' || req.url !== XERO_PATHS.token) return;
        const body = (req.body ?? {}) as Record<string, string>;
        const since = body.grant_type === 'refresh_token' ? retiredAt.get(body.refresh_token ?? '') : undefined;
        if (since !== undefined && Date.now() - since > REFRESH_GRACE_MS) return reply.code(400).send({ error: 'invalid_grant' });
      });

      app.post(XERO_PATHS.revoke, async (req, reply) => {
        provider.calls.revokes++;
        const client = basicCredentials(req);
        revokeRequests.push({ basicClientId: client?.id, contentType: contentTypeOf(req), body: req.body });
        if (client?.id !== provider.clientId || client.secret !== provider.clientSecret) return reply.code(400).send({ error: 'invalid_client' });
        if (contentTypeOf(req) !== 'form') return reply.code(400).send({ error: 'invalid_request' });
        const token = (req.body as Record<string, string>).token ?? '';
        const grant = provider.grantOfToken(token);
        if (grant) grant.revoked = true;
        return reply.code(200).send();
      });

      app.get('/connections', async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) {
          return reply.code(401).send({ Type: null, Title: 'Unauthorized', Status: 401, Detail: 'AuthenticationUnsuccessful', Instance: randomUUID(), Extensions: {} });
        }
        // Every tenant this user gave the app, whichever consent it came from: the caller must pick.
        const live = [...provider.grants.values()].filter((g) => !g.revoked).flatMap((g) => g.extra.connections as XeroConnectionRow[]);
        return [...earlierConnections, ...live];
      });

      addAccountingApi(app, provider, api, booksOf);
    },
  )) as FakeXero;
  clientId = fake.clientId;
  return Object.assign(fake, { setConsentTenants: (t: FakeTenant[]) => void (consentTenants = t), earlierConnections, revokeRequests, api, books: booksOf });
}

// ---- Accounting API (api.xro/2.0): tenant header, granular scopes, per-tenant minute limit, paged invoices ----

const MINUTE_LIMIT = 60;
const problem = (status: number, title: string, detail: string) => ({ Type: null, Title: title, Status: status, Detail: detail, Instance: randomUUID(), Extensions: {} });
const msDate = (ymd: string) => `/Date(${Date.parse(ymd)}+0000)/`;
const validation = (reply: FastifyReply, message: string) =>
  reply.code(400).send({ ErrorNumber: 10, Type: 'ValidationException', Message: 'A validation exception occurred', Elements: [{ ValidationErrors: [{ Message: message }] }] });
/** The scopes that let a token read each resource: the granular one, or the broad one older apps hold. */
const SCOPES: Record<string, string[]> = {
  '/Reports/ExecutiveSummary': ['accounting.reports.executivesummary.read', 'accounting.reports.read'],
  '/Invoices': ['accounting.invoices.read', 'accounting.transactions.read', 'accounting.transactions'],
};

/** The invoice filters Xero's `where` accepts that the hub uses; anything else is refused as Xero refuses bad syntax. */
function invoiceFilter(where: string | undefined): ((inv: FakeXeroInvoice) => boolean) | undefined {
  if (!where) return () => true;
  const tests: ((inv: FakeXeroInvoice) => boolean)[] = [];
  for (const clause of where.split(/\s+AND\s+/)) {
    const type = /^Type\s*==\s*"(ACCREC|ACCPAY)"$/.exec(clause.trim());
    const due = /^DueDate\s*<\s*DateTime\((\d{4}),\s*(\d{2}),\s*(\d{2})\)$/.exec(clause.trim());
    if (type) tests.push((inv) => inv.Type === type[1]);
    else if (due) tests.push((inv) => inv.dueDate < `${due[1]}-${due[2]}-${due[3]}`);
    else return undefined;
  }
  return (inv) => tests.every((test) => test(inv));
}

function addAccountingApi(app: FastifyInstance, provider: FakeOAuthProvider, api: FakeXero['api'], booksOf: (tenantId: string) => FakeXeroBooks) {
  const minute = new Map<string, { window: number; used: number }>();
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith(XERO_PATHS.api)) return;
    const path = req.url.slice(XERO_PATHS.api.length).split('?')[0]!;
    const tenantId = req.headers['xero-tenant-id'] as string | undefined;
    api.calls++;
    api.requests.push({ path, query: Object.fromEntries(new URL(req.url, 'http://x').searchParams), tenantId });
    if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
    const failure = api.failures.shift();
    if (failure) {
      const body = failure.status === 429 ? 'Rate limit exceeded' : failure.status === 503 ? 'Service Unavailable' : problem(failure.status, 'An error occurred', 'Internal server error');
      return reply.code(failure.status).headers(failure.headers ?? {}).send(body);
    }
    const grant = provider.grantOfAccessToken(bearerToken(req));
    if (!grant) return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send(problem(401, 'Unauthorized', 'AuthenticationUnsuccessful'));
    // A tenant this grant was not given, or none: Xero's 403.
    if (!tenantId || !(grant.extra.connections as XeroConnectionRow[]).some((c) => c.tenantId === tenantId)) {
      return reply.code(403).send(problem(403, 'Forbidden', 'AuthenticationUnsuccessful'));
    }
    const granted = grant.scope.split(' ');
    if (SCOPES[path] && !SCOPES[path].some((s) => granted.includes(s))) return reply.code(401).send(problem(401, 'Unauthorized', 'AuthorizationUnsuccessful'));
    const now = Math.floor(Date.now() / 60_000);
    const count = minute.get(tenantId)?.window === now ? minute.get(tenantId)! : { window: now, used: 0 };
    minute.set(tenantId, count);
    count.used++;
    if (count.used > MINUTE_LIMIT) {
      const wait = String(60 - Math.floor((Date.now() / 1000) % 60));
      return reply.code(429).headers({ 'retry-after': wait, 'x-rate-limit-problem': 'minute', 'x-minlimit-remaining': '0' }).send('Rate limit exceeded');
    }
    void reply.headers({ 'x-minlimit-remaining': String(MINUTE_LIMIT - count.used), 'x-daylimit-remaining': '4990', 'x-appminlimit-remaining': '9990' });
    // Xero answers XML unless asked for JSON.
    if (!String(req.headers.accept ?? '').includes('application/json')) return reply.type('text/xml').send('<Response/>');
  });

  const envelope = () => ({ Id: randomUUID(), Status: 'OK', ProviderName: 'Integration Hub', DateTimeUTC: `/Date(${Date.now()})/` });

  app.get<{ Querystring: { date?: string } }>(`${XERO_PATHS.api}/Reports/ExecutiveSummary`, async (req, reply) => {
    const date = req.query.date ?? new Date().toISOString().slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) return validation(reply, `'${date}' is not a valid date`);
    const month = (offset: number) => {
      const d = new Date(date);
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + offset);
      return d.toLocaleString('en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' });
    };
    const variance = (current: string, previous: string) => {
      const [c, p] = [Number(current), Number(previous)];
      return Number.isFinite(c) && Number.isFinite(p) && p !== 0 ? `${(((c - p) / Math.abs(p)) * 100).toFixed(1)}%` : '';
    };
    const sections = booksOf(req.headers['xero-tenant-id'] as string).executiveSummary;
    return {
      ...envelope(),
      Reports: [{
        ReportID: 'ExecutiveSummary', ReportName: 'Executive Summary', ReportType: 'ExecutiveSummary',
        ReportTitles: ['Executive Summary', 'Demo Company (Global)', `For the month of ${month(0)}`], ReportDate: date, UpdatedDateUTC: `/Date(${Date.now()})/`, Fields: [],
        Rows: [
          { RowType: 'Header', Cells: [{ Value: '' }, { Value: month(0) }, { Value: month(-1) }, { Value: 'Variance' }] },
          ...sections.map((s) => ({
            RowType: 'Section', Title: s.title,
            Rows: s.rows.map((r) => ({ RowType: 'Row', Cells: [{ Value: r.label }, { Value: r.current }, { Value: r.previous }, { Value: variance(r.current, r.previous) }] })),
          })),
        ],
      }],
    };
  });

  app.get<{ Querystring: Record<string, string> }>(`${XERO_PATHS.api}/Invoices`, async (req, reply) => {
    const q = req.query;
    const filter = invoiceFilter(q.where);
    if (!filter) return validation(reply, `Unsupported where clause: ${q.where}`);
    if (q.order && !/^DueDate( ASC)?$/.test(q.order)) return validation(reply, `Unsupported order: ${q.order}`);
    const pageSize = Number(q.pageSize ?? 100);
    const page = q.page === undefined ? undefined : Number(q.page);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000 || (page !== undefined && (!Number.isInteger(page) || page < 1))) return validation(reply, 'page or pageSize out of range');
    const statuses = q.Statuses?.split(',');
    const matching = booksOf(req.headers['xero-tenant-id'] as string).invoices
      .filter((inv) => (!statuses || statuses.includes(inv.Status)) && filter(inv))
      .sort((a, b) => (q.order ? a.dueDate.localeCompare(b.dueDate) : 0) || a.InvoiceNumber.localeCompare(b.InvoiceNumber));
    const shown = page === undefined ? matching : matching.slice((page - 1) * pageSize, page * pageSize);
    return {
      ...envelope(),
      ...(page !== undefined ? { pagination: { page, pageSize, pageCount: Math.ceil(matching.length / pageSize), itemCount: matching.length } } : {}),
      Invoices: shown.map((inv) => ({
        Type: inv.Type, InvoiceID: inv.InvoiceID, InvoiceNumber: inv.InvoiceNumber, Reference: '',
        Contact: { ContactID: randomUUID(), Name: inv.contactName },
        Date: msDate(inv.dueDate), DateString: `${inv.dueDate}T00:00:00`, DueDate: msDate(inv.dueDate), DueDateString: `${inv.dueDate}T00:00:00`,
        Status: inv.Status, LineAmountTypes: 'Exclusive', SubTotal: inv.total, TotalTax: 0, Total: inv.total,
        AmountDue: inv.amountDue, AmountPaid: inv.total - inv.amountDue, AmountCredited: 0, CurrencyCode: inv.currency,
        UpdatedDateUTC: `/Date(${Date.now()}+0000)/`, HasAttachments: false, IsDiscounted: false,
      })),
    };
  });
}
