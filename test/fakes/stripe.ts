// Fake Stripe: restricted keys on GET /v1/account (Bearer or Basic, Stripe's error envelope, 401 for unknown or
// expired keys, 403 for a key without the permission), and Stripe Connect OAuth: platform secret key as
// client_secret in a form body, no PKCE, non-expiring tokens with stripe_user_id, deauthorize by account.
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
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
}

export interface FakeStripe extends FakeOAuthProvider {
  accounts: Map<string, FakeStripeAccount>;
  /** Creates an account (the one Connect consents connect, unless another is set). */
  addAccount(account: Omit<FakeStripeAccount, 'id'>): FakeStripeAccount;
  /** Issues a restricted key for an account. */
  restrictedKey(accountId: string, options?: { mode?: 'live' | 'test'; canReadAccount?: boolean; expired?: boolean }): string;
  /** The account the next Connect consent connects. */
  setConnectAccount(accountId: string): void;
  /** The next token answer names this account in stripe_user_id, whatever the grant reaches (an inconsistent answer). */
  misnameNextGrant(accountId: string): void;
  /** The next API call answers this 5xx (Stripe's api_error). */
  failNextApi(status: number): void;
  api: { calls: number };
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
  const api = { calls: 0 };
  let connectAccount = '';
  let apiFailure: number | undefined;
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
      app.get('/v1/account', async (req, reply) => {
        api.calls++;
        if (apiFailure) {
          const status = apiFailure;
          apiFailure = undefined;
          return reply.code(status).send({ error: { message: 'An unknown error occurred', type: 'api_error' } });
        }
        const { key } = keyOf(req);
        if (!key) return reply.code(401).send(stripeError('You did not provide an API key.'));
        const info = keys.get(key);
        const grant = info ? undefined : provider.grantOfAccessToken(key);
        const accountId = info?.accountId ?? (grant?.extra.accountId as string | undefined);
        if (!accountId) return reply.code(401).send(stripeError(`Invalid API Key provided: ${masked(key)}`));
        if (info?.expired) return reply.code(401).send(stripeError(`Expired API Key provided: ${masked(key)}`, { code: 'api_key_expired' }));
        if (info && !info.canReadAccount) {
          return reply.code(403).send(stripeError(
            `The provided key '${masked(key)}' does not have the required permissions for this endpoint on account '${accountId}'. Having the 'rak_accounts_kyc_basic_read' permission would allow this request to continue.`,
          ));
        }
        const account = accounts.get(accountId)!;
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
    restrictedKey(accountId: string, o: { mode?: 'live' | 'test'; canReadAccount?: boolean; expired?: boolean } = {}) {
      const key = `rk_${o.mode ?? 'test'}_${alnum(99)}`;
      keys.set(key, { accountId, canReadAccount: o.canReadAccount ?? true, expired: o.expired ?? false });
      return key;
    },
    setConnectAccount: (id: string) => void (connectAccount = id),
    misnameNextGrant: (accountId: string) => void (misnamed = accountId),
    failNextApi: (status: number) => void (apiFailure = status),
    api,
    deauthorizations,
  });
}
