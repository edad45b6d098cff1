// Pending authorizations: a random, single-use state in the key-value store, bound to one browser.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { KV_TTL_MS, oauthState, oauthStateBinding } from '../../lib/kv-keys.js';
import type { KeyValueStore } from '../../lib/kv/kv.js';

export const pendingAuthorization = z.object({
  workspaceId: z.string(),
  slug: z.string(),
  scopes: z.array(z.string()),
  codeVerifier: z.string().optional(),
  returnUrl: z.string().optional(),
  /** The provider's authorization URL the start route redirects the browser to. */
  providerUrl: z.string(),
  actor: z.string(),
  expiresAt: z.string(),
});
export type PendingAuthorization = z.infer<typeof pendingAuthorization>;

const hash = (value: string) => createHash('sha256').update(value).digest('base64url');

export function newRandom(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Cookie name for one state: several flows can run at once in one browser without clobbering each other. */
export function bindingCookieName(state: string): string {
  return `hub_oauth_${hash(state).slice(0, 16)}`;
}

export function createOAuthStateStore(deps: { kv: KeyValueStore }) {
  const { kv } = deps;
  return {
    /** Stores a pending authorization; returns its state and the browser nonce for the binding cookie. */
    /** Stores a pending authorization under a new random state. */
    async create(state: string, input: Omit<PendingAuthorization, 'expiresAt'>): Promise<Date> {
      const expiresAt = new Date(Date.now() + KV_TTL_MS.oauthState);
      const record: PendingAuthorization = { ...input, expiresAt: expiresAt.toISOString() };
      await kv.set(oauthState(state), JSON.stringify(record), KV_TTL_MS.oauthState);
      return expiresAt;
    },

    /** Whether the state is pending, without consuming it (the start route). */
    async peek(state: string): Promise<PendingAuthorization | undefined> {
      const raw = await kv.get(oauthState(state));
      return raw ? pendingAuthorization.parse(JSON.parse(raw)) : undefined;
    },

    /**
     * Binds the state to the first browser that opens the authorization URL: returns the nonce for its
     * cookie, or undefined when another browser got there first. Only the nonce's hash is stored.
     */
    async bindBrowser(state: string): Promise<string | undefined> {
      const nonce = newRandom();
      return (await kv.acquire(oauthStateBinding(state), hash(nonce), KV_TTL_MS.oauthState)) ? nonce : undefined;
    },

    /** Takes the binding (single use, like the state) and checks the cookie's nonce against it in constant time. */
    async takeBinding(state: string, cookieNonce: string | undefined): Promise<boolean> {
      const stored = await kv.take(oauthStateBinding(state));
      if (!stored || !cookieNonce) return false;
      const a = Buffer.from(hash(cookieNonce));
      const b = Buffer.from(stored);
      return a.length === b.length && timingSafeEqual(a, b);
    },

    /** Atomically takes the state: of concurrent callbacks exactly one gets it, a replay gets nothing. */
    async consume(state: string): Promise<PendingAuthorization | undefined> {
      const raw = await kv.take(oauthState(state));
      if (!raw) return undefined;
      const record = pendingAuthorization.parse(JSON.parse(raw));
      return Date.parse(record.expiresAt) > Date.now() ? record : undefined;
    },
  };
}

export type OAuthStateStore = ReturnType<typeof createOAuthStateStore>;
