// Signed webhook deliveries for the benchmark, made ahead of the load with the providers' own libraries:
// GitHub's X-Hub-Signature-256 (@octokit/webhooks-methods) and Stripe's Stripe-Signature (stripe).
import { sign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';

export interface SignedDelivery {
  deliveryId: string;
  body: string;
  headers: Record<string, string>;
}

export type Provider = 'github' | 'stripe';

export async function githubDeliveries(secret: string, prefix: string, count: number): Promise<SignedDelivery[]> {
  const out: SignedDelivery[] = [];
  for (let i = 0; i < count; i++) {
    const deliveryId = `${prefix}-${i}`;
    const body = JSON.stringify({
      action: 'synchronize',
      number: i,
      pull_request: { id: 100_000 + i, number: i, title: `Bench PR ${i}`, state: 'open', head: { sha: 'a'.repeat(40) } },
      repository: { id: 1296269, full_name: 'bench/load', owner: { id: 9919, login: 'bench', type: 'Organization' } },
      organization: { id: 9919, login: 'bench' },
      installation: { id: 90_000_001 },
      sender: { id: 583231, login: 'octocat', type: 'User' },
    });
    out.push({
      deliveryId,
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': await sign(secret, body),
        'user-agent': 'GitHub-Hookshot/bench',
      },
    });
  }
  return out;
}

export function stripeDeliveries(secret: string, prefix: string, count: number): SignedDelivery[] {
  const stripe = new Stripe('sk_test_bench');
  const timestamp = Math.floor(Date.now() / 1000);
  const out: SignedDelivery[] = [];
  for (let i = 0; i < count; i++) {
    const deliveryId = `evt_${prefix.replace(/-/g, '_')}_${i}`;
    const body = JSON.stringify({
      id: deliveryId,
      object: 'event',
      api_version: '2025-09-30.clover',
      created: timestamp,
      type: 'invoice.paid',
      livemode: false,
      account: 'acct_bench0000000001',
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: { id: `in_${i}`, object: 'invoice', amount_paid: 4200, currency: 'usd', status: 'paid' } },
    });
    out.push({
      deliveryId,
      body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
    });
  }
  return out;
}
