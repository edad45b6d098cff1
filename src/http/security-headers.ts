// Security headers, decided by helmet once at start and replayed on each response: helmet's middleware chain
// re-derives the same dozen static headers on every request (a few percent of a cached read's CPU).
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

export type HeaderSet = Readonly<Record<string, string>>;

/**
 * The headers helmet sets with these options, captured by running it once against a recording response. Given to
 * Fastify's reply (reply.headers), not to the raw response: Node then writes every header of the answer in one
 * pass instead of storing these first and merging the reply's into them.
 */
export function securityHeaderSet(options: Parameters<typeof helmet>[0]): HeaderSet {
  const set = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => void set.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => void set.delete(name.toLowerCase()),
    getHeader: (name: string) => set.get(name.toLowerCase()),
  };
  let failed: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    failed = err;
  });
  if (failed) throw failed instanceof Error ? failed : new Error(String(failed));
  return Object.freeze(Object.fromEntries(set));
}
