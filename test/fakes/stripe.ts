// Fake Stripe: restricted keys (Bearer or Basic, Stripe's error envelope, 401 for unknown or expired keys, 403 for
// a key without the permission), Stripe Connect OAuth (platform secret key as client_secret in a form body, no
// PKCE, non-expiring tokens with stripe_user_id, deauthorize by account), and the read API the widgets call:
// /v1/account, /v1/balance, and list endpoints paged with limit/starting_after/has_more, newest first.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { basicCredentials, bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const STRIPE_PATHS = { authorize: '/oauth/authorize', token: '/oauth/token', revoke: '/oauth/deauthorize', api: '' };

export interface FakeStripeAccount {
  id: string;
  displayName?: string;
  businessName?: string;
  email?: string;
}

interface KeyInfo {
  accountId: string;
  canReadAccount: boolean;
  expired: boolean;
  /** Read permissions the key was made without (rak_balance_read, rak_subscription_read, rak_charge_read). */
  denied: string[];
}

type Funds = { amount: number; currency: string }[];
/** Stripe objects as the API answers them (built with `subscriptionObject` / `chargeObject`). */
type StripeObject = { id: string; created: number } & Record<string, unknown>;

export interface FakeStripeData {
  balance: { available: Funds; pending: Funds };
  subscriptions: StripeObject[];
  charges: StripeObject[];
}

export interface FakePrice {
  unitAmount: number | null;
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount?: number;
  quantity?: number;
  usageType?: 'licensed' | 'metered';
}

export interface FakeStripe extends FakeOAuthProvider {
  accounts: Map<string, FakeStripeAccount>;
  /** Creates an account (the one Connect consents connect, unless another is set). */
  addAccount(account: Omit<FakeStripeAccount, 'id'>): FakeStripeAccount;
  /** Issues a restricted key for an account. */
  restrictedKey(accountId: string, options?: { mode?: 'live' | 'test'; canReadAccount?: boolean; expired?: boolean; denied?: string[] }): string;
  /** Expires a key (the user rolled or deleted it in the Dashboard). */
  expireKey(key: string): void;
  /** An account's balance, subscriptions and charges, which the read API answers from (created on first use). */
  data(accountId: string): FakeStripeData;
  /** The account the next Connect consent connects. */
  setConnectAccount(accountId: string): void;
  /** The next token answer names this account in stripe_user_id, whatever the grant reaches (an inconsistent answer). */
  misnameNextGrant(accountId: string): void;
  /** The next API call answers this 5xx (Stripe's api_error). */
  failNextApi(status: number): void;
  /** Read API control: failures answered first (status + headers), a delay, calls and what they asked. */
  api: { calls: number; delayMs: number; failures: { status: number; headers?: Record<string, string> }[]; requests: { path: string; query: Record<string, string> }[] };
  deauthorizations: { auth: 'basic' | 'bearer' | 'none'; contentType: string; body: unknown }[];
}

const alnum = (n: number) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);
const stripeError = (message: string, extra: Record<string, string> = {}) => ({ error: { message, type: 'invalid_request_error', ...extra } });
const masked = (key: string) => `${key.slice(0, 8)}${'*'.repeat(12)}${key.slice(-4)}`;

/** Stripe takes the secret key as a Bearer token or as the Basic user name (empty password). */
function keyOf(req: FastifyRequest): { key?: string; auth: 'basic' | 'bearer' | 'none' } {
  const bearer = bearerToken(req);
  if (bearer) return { key: bearer, auth: 'bearer' };
  const basic = basicCredentials(req);
  return basic ? { key: basic.id, auth: 'basic' } : { auth: 'none' };
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const accounts = new Map<string, FakeStripeAccount>();
  const keys = new Map<string, KeyInfo>();
  const deauthorizations: FakeStripe['deauthorizations'] = [];
  const api: FakeStripe['api'] = { calls: 0, delayMs: 0, failures: [], requests: [] };
  const data = new Map<string, FakeStripeData>();
  const dataOf = (accountId: string) => {
    let d = data.get(accountId);
    if (!d) data.set(accountId, (d = { balance: { available: [{ amount: 0, currency: 'usd' }], pending: [{ amount: 0, currency: 'usd' }] }, subscriptions: [], charges: [] }));
    return d;
  };
  let connectAccount = '';
  let misnamed: string | undefined;

  const fake = (await startFakeOAuthProvider(
    {
      clientId: `ca_${alnum(32)}`,
      // The platform's secret key is the client secret.
      clientSecret: `sk_test_${alnum(40)}`,
      clientAuth: 'body',
      bodyFormat: 'form',
      pkce: 'unsupported',
      refresh: 'static',
      paths: { authorize: STRIPE_PATHS.authorize, token: STRIPE_PATHS.token },
      grantExtra: () => ({ accountId: connectAccount }),
      // Connect's token answer: no expires_in (the access token does not expire), the account as stripe_user_id.
      tokenBody: ({ grant }) => {
        const named = misnamed ?? grant.extra.accountId;
        misnamed = undefined;
        return {
          access_token: grant.accessToken,
          livemode: false,
          refresh_token: grant.refreshToken,
          token_type: 'bearer',
          stripe_publishable_key: `pk_test_${alnum(24)}`,
          stripe_user_id: named,
          scope: grant.scope,
        };
      },
      // Connect OAuth errors: {"error":"invalid_grant","error_description":"Authorization code does not exist: ac_…"}
      errorReply: ({ status, error }) => ({
        status,
        body: { error, error_description: error === 'invalid_grant' ? `Authorization code does not exist: ac_${alnum(24)}` : 'Invalid request' },
      }),
    },
    (app, provider) => {
      addReadApi(app, api, (req) => {
        const { key } = keyOf(req);
        if (!key) return { error: stripeError('You did not provide an API key.') };
        const info = keys.get(key);
        const accountId = info?.accountId ?? (provider.grantOfAccessToken(key)?.extra.accountId as string | undefined);
        if (!accountId) return { error: stripeError(`Invalid API Key provided: ${masked(key)}`) };
        if (info?.expired) return { error: stripeError(`Expired API Key provided: ${masked(key)}`, { code: 'api_key_expired' }) };
        return { accountId, key, denied: info ? [...info.denied, ...(info.canReadAccount ? [] : ['rak_accounts_kyc_basic_read'])] : [] };
      }, dataOf);

      app.get('/v1/account', async (req) => {
        const account = accounts.get(accountOf(req))!;
        return {
          id: account.id,
          object: 'account',
          business_profile: { name: account.businessName ?? null, url: null, support_email: null },
          charges_enabled: true,
          country: 'US',
          default_currency: 'usd',
          email: account.email ?? null,
          settings: { dashboard: { display_name: account.displayName ?? null, timezone: 'America/New_York' } },
          type: 'standard',
        };
      });

      app.post(STRIPE_PATHS.revoke, async (req, reply) => {
        provider.calls.revokes++;
        const { key, auth } = keyOf(req);
        deauthorizations.push({ auth, contentType: contentTypeOf(req), body: req.body });
        if (key !== provider.clientSecret) return reply.code(401).send(stripeError('Invalid API Key provided'));
        if (contentTypeOf(req) !== 'form') return reply.code(400).send({ error: 'invalid_request', error_description: 'form body expected' });
        const body = req.body as Record<string, string>;
        if (body.client_id !== provider.clientId) {
          return reply.code(400).send({ error: 'invalid_client', error_description: `No such application: '${body.client_id ?? ''}'` });
        }
        const grants = [...provider.grants.values()].filter((g) => !g.revoked && g.extra.accountId === body.stripe_user_id);
        if (grants.length === 0) {
          return reply.code(400).send({
            error: 'invalid_client',
            error_description: `This application is not connected to stripe account ${body.stripe_user_id ?? ''}, or that account does not exist.`,
          });
        }
        for (const g of grants) g.revoked = true;
        return { stripe_user_id: body.stripe_user_id };
      });
    },
  )) as FakeStripe;

  const addAccount = (a: Omit<FakeStripeAccount, 'id'>) => {
    const account = { id: `acct_${alnum(16)}`, ...a };
    accounts.set(account.id, account);
    return account;
  };
  connectAccount = addAccount({ displayName: 'Acme Payments', businessName: 'Acme Inc.', email: 'finance@acme.example' }).id;
  return Object.assign(fake, {
    accounts,
    addAccount,
    restrictedKey(accountId: string, o: { mode?: 'live' | 'test'; canReadAccount?: boolean; expired?: boolean; denied?: string[] } = {}) {
      const key = `rk_${o.mode ?? 'test'}_${alnum(99)}`;
      keys.set(key, { accountId, canReadAccount: o.canReadAccount ?? true, expired: o.expired ?? false, denied: o.denied ?? [] });
      return key;
    },
    data: dataOf,
    expireKey: (key: string) => void (keys.get(key)!.expired = true),
    setConnectAccount: (id: string) => void (connectAccount = id),
    misnameNextGrant: (accountId: string) => void (misnamed = accountId),
    failNextApi: (status: number) => void api.failures.push({ status }),
    api,
    deauthorizations,
  });
}

// ---- Read API: one hook authenticates and authorises every /v1 call; lists page newest first ----

/** The permission a restricted key needs for each read endpoint. */
const PERMISSIONS: Record<string, string> = {
  '/v1/account': 'rak_accounts_kyc_basic_read',
  '/v1/balance': 'rak_balance_read',
  '/v1/subscriptions': 'rak_subscription_read',
  '/v1/charges': 'rak_charge_read',
};
const SUBSCRIPTION_STATUSES = new Set(['active', 'past_due', 'unpaid', 'canceled', 'incomplete', 'incomplete_expired', 'trialing', 'paused', 'all', 'ended']);
const accountIds = new WeakMap<FastifyRequest, string>();
const accountOf = (req: FastifyRequest) => accountIds.get(req)!;
const invalid = (reply: FastifyReply, message: string, param: string) => reply.code(400).send(stripeError(message, { param }));

type Caller = { accountId: string; key: string; denied: string[] } | { error: ReturnType<typeof stripeError> };

function addReadApi(app: FastifyInstance, api: FakeStripe['api'], authenticate: (req: FastifyRequest) => Caller, dataOf: (accountId: string) => FakeStripeData) {
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!path.startsWith('/v1/')) return;
    api.calls++;
    api.requests.push({ path, query: Object.fromEntries(new URL(req.url, 'http://x').searchParams) });
    if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
    const failure = api.failures.shift();
    if (failure) {
      const body = failure.status === 429
        ? stripeError('Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', { code: 'rate_limit' })
        : { error: { message: 'An unknown error occurred', type: 'api_error' } };
      return reply.code(failure.status).headers(failure.headers ?? {}).send(body);
    }
    const caller = authenticate(req);
    if ('error' in caller) return reply.code(401).send(caller.error);
    const permission = PERMISSIONS[path];
    if (permission && caller.denied.includes(permission)) {
      return reply.code(403).send(stripeError(
        `The provided key '${masked(caller.key)}' does not have the required permissions for this endpoint on account '${caller.accountId}'. Having the '${permission}' permission would allow this request to continue.`,
      ));
    }
    accountIds.set(req, caller.accountId);
  });

  app.get('/v1/balance', async (req) => ({ object: 'balance', livemode: false, ...dataOf(accountOf(req)).balance }));

  const list = (path: string, pick: (d: FakeStripeData, q: Record<string, string>) => StripeObject[] | string) =>
    app.get<{ Querystring: Record<string, string> }>(path, async (req, reply) => {
      const q = req.query;
      const limit = Number(q.limit ?? 10);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return invalid(reply, `Invalid integer: ${q.limit}`, 'limit');
      const picked = pick(dataOf(accountOf(req)), q);
      if (typeof picked === 'string') return invalid(reply, picked, 'status');
      const all = [...picked].sort((a, b) => b.created - a.created || b.id.localeCompare(a.id));
      const from = q.starting_after ? all.findIndex((o) => o.id === q.starting_after) + 1 : 0;
      if (from === 0 && q.starting_after) return invalid(reply, `No such object: '${q.starting_after}'`, 'starting_after');
      const page = all.slice(from, from + limit);
      return { object: 'list', url: path, has_more: from + limit < all.length, data: page };
    });

  list('/v1/subscriptions', (d, q) => {
    const status = q.status;
    if (status && !SUBSCRIPTION_STATUSES.has(status)) return `Invalid status: must be one of ${[...SUBSCRIPTION_STATUSES].join(', ')}`;
    // By default, every subscription that has not been canceled.
    return d.subscriptions.filter((s) => (status === 'all' ? true : status ? s.status === status : s.status !== 'canceled'));
  });
  list('/v1/charges', (d, q) => {
    const bound = (op: string) => (q[`created[${op}]`] === undefined ? undefined : Number(q[`created[${op}]`]));
    const [gte, lte] = [bound('gte'), bound('lte')];
    return d.charges.filter((c) => (gte === undefined || c.created >= gte) && (lte === undefined || c.created <= lte));
  });
}

/** A subscription in the API's shape: items with their prices embedded. */
export function subscriptionObject(o: { status?: string; currency?: string; created?: number; prices: FakePrice[] }): StripeObject {
  const id = `sub_${alnum(14)}`;
  const currency = o.currency ?? 'usd';
  return {
    id, object: 'subscription', status: o.status ?? 'active', currency, created: o.created ?? Math.floor(Date.now() / 1000), customer: `cus_${alnum(14)}`, livemode: false,
    items: {
      object: 'list', has_more: false, total_count: o.prices.length, url: `/v1/subscription_items?subscription=${id}`,
      data: o.prices.map((p) => ({
        id: `si_${alnum(14)}`, object: 'subscription_item', quantity: p.usageType === 'metered' ? undefined : (p.quantity ?? 1), subscription: id,
        price: {
          id: `price_${alnum(14)}`, object: 'price', active: true, currency, product: `prod_${alnum(14)}`, type: 'recurring',
          billing_scheme: p.unitAmount === null ? 'tiered' : 'per_unit', unit_amount: p.unitAmount, unit_amount_decimal: p.unitAmount === null ? null : String(p.unitAmount),
          recurring: { interval: p.interval, interval_count: p.intervalCount ?? 1, usage_type: p.usageType ?? 'licensed', aggregate_usage: null },
        },
      })),
    },
  };
}

/** A charge in the API's shape; failed ones carry failure_code and failure_message. */
export function chargeObject(o: { amount: number; currency?: string; created: number; failure?: { code: string; message: string }; name?: string; email?: string; customer?: string }): StripeObject {
  return {
    id: `ch_${alnum(24)}`, object: 'charge', amount: o.amount, currency: o.currency ?? 'usd', created: o.created, livemode: false,
    status: o.failure ? 'failed' : 'succeeded', paid: !o.failure, captured: !o.failure,
    failure_code: o.failure?.code ?? null, failure_message: o.failure?.message ?? null,
    payment_intent: `pi_${alnum(24)}`, customer: o.customer ?? null, receipt_email: null,
    billing_details: { name: o.name ?? null, email: o.email ?? null, phone: null, address: null },
    outcome: o.failure ? { type: 'issuer_declined', network_status: 'declined_by_network', reason: o.failure.code, seller_message: 'The bank did not return any further details with this decline.' } : { type: 'authorized', network_status: 'approved_by_network' },
  };
}
