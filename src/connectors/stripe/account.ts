// The Stripe account behind a key or a Connect token: GET /v1/account, read into the hub's ConnectedAccount.
import { z } from 'zod';
import type { ConnectedAccount, ProviderHttp } from '../types.js';

export const stripeAccountId = z.string().regex(/^acct_[A-Za-z0-9]+$/, 'not a Stripe account id');

const accountSchema = z.object({
  id: stripeAccountId,
  email: z.string().nullish(),
  business_profile: z.object({ name: z.string().nullish() }).nullish(),
  settings: z.object({ dashboard: z.object({ display_name: z.string().nullish() }).nullish() }).nullish(),
});

/** Reads the account the secret (restricted key or Connect access token) acts on; throws ProviderError when refused. */
export async function lookUpAccount(
  http: ProviderHttp,
  apiBaseUrl: string,
  secret: string,
  livemode: boolean,
): Promise<ConnectedAccount> {
  const account = accountSchema.parse(
    await http.json(`${apiBaseUrl}/v1/account`, { headers: { authorization: `Bearer ${secret}` } }),
  );
  const name =
    account.settings?.dashboard?.display_name || account.business_profile?.name || account.email || account.id;
  return {
    id: account.id,
    name,
    metadata: { accountId: account.id, livemode: String(livemode) },
    // Connect webhook events name the connected account in their top-level `account`.
    routingKeys: [`account:${account.id}`],
  };
}
