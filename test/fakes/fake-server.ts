// A fake provider is a small Fastify app on a loopback port that enforces what the provider enforces.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';

export interface FakeServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Starts a Fastify app that parses JSON and form bodies; `setup` adds the provider's routes. */
export async function startFakeServer(setup: (app: FastifyInstance) => void | Promise<void>): Promise<FakeServer> {
  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  await setup(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export const randomToken = (prefix = '') => `${prefix}${randomBytes(18).toString('base64url')}`;

/** Client credentials from HTTP Basic, or undefined. */
export function basicCredentials(req: FastifyRequest): { id: string; secret: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { id: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

export function contentTypeOf(req: FastifyRequest): 'form' | 'json' | 'other' {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (type.startsWith('application/json')) return 'json';
  return 'other';
}

/**
 * Where a fake provider reaches the hub: the hub's public (https) origin, which providers insist on, replayed on
 * the hub's local address, as a TLS-terminating proxy would.
 */
export interface HubForwarding {
  publicOrigin?: string;
  localOrigin?: string;
}

/** The URL a fake really calls for a hub URL it was given. */
export function forwardedUrl(hub: HubForwarding, url: string): string {
  return hub.publicOrigin && hub.localOrigin && url.startsWith(hub.publicOrigin) ? hub.localOrigin + url.slice(hub.publicOrigin.length) : url;
}
