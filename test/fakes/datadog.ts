// Fake Datadog API (one site): /api/v1/validate checks the API key alone, /api/v2/validate_keys the API key and
// application key together; refusals are 403 {"errors":["Forbidden"]} as Datadog answers them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { startFakeServer, type FakeServer } from './fake-server.js';

export interface FakeDatadog extends FakeServer {
  /** The keys this fake organisation accepts; assign new values to "rotate" them. */
  keys: { apiKey: string; appKey: string };
  calls: { validate: number; validateKeys: number };
  /** Headers of every request, to check which key went where. */
  requests: { path: string; apiKey?: string; appKey?: string }[];
  /** The next request is answered with this status (503, 429 …). */
  failNext(status: number): void;
}

export async function startFakeDatadog(keys = { apiKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', appKey: 'ddapp_0123456789abcdef0123456789abcdef01234567' }): Promise<FakeDatadog> {
  const calls = { validate: 0, validateKeys: 0 };
  const requests: FakeDatadog['requests'] = [];
  let failure: number | undefined;
  // Mutable in place, so a test can rotate the keys the fake accepts.
  const current = { ...keys };

  const header = (req: FastifyRequest, name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const forbidden = (reply: FastifyReply) => reply.code(403).send({ errors: ['Forbidden'] });

  const server = await startFakeServer((app) => {
    app.addHook('onRequest', async (req, reply) => {
      requests.push({ path: req.url, apiKey: header(req, 'dd-api-key'), appKey: header(req, 'dd-application-key') });
      if (failure !== undefined) {
        const status = failure;
        failure = undefined;
        return reply.code(status).send({ errors: [status === 429 ? 'Too many requests' : 'Service Unavailable'] });
      }
    });
    app.get('/api/v1/validate', async (req, reply) => {
      calls.validate++;
      if (header(req, 'dd-api-key') !== current.apiKey) return forbidden(reply);
      return { valid: true };
    });
    app.get('/api/v2/validate_keys', async (req, reply) => {
      calls.validateKeys++;
      if (!header(req, 'dd-api-key') || !header(req, 'dd-application-key')) return reply.code(401).send({ errors: ['Unauthorized'] });
      if (header(req, 'dd-api-key') !== current.apiKey || header(req, 'dd-application-key') !== current.appKey) return forbidden(reply);
      return { status: 'ok' };
    });
  });

  return Object.assign(server, {
    keys: current,
    calls,
    requests,
    failNext: (status: number) => void (failure = status),
  });
}
