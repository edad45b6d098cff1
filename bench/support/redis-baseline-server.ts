// The baseline of the widget benchmark: bare Fastify 5 whose one route answers the JSON held in one Redis key,
// with one GET per request and nothing else (no hooks, no auth, no parsing: the string goes out as it came).
// Usage: node --import tsx bench/support/redis-baseline-server.ts <port> <redisUrl> <key> <routePath>
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const [port, redisUrl, key, routePath] = process.argv.slice(2);
if (!port || !redisUrl || !key || !routePath) throw new Error('usage: redis-baseline-server.ts <port> <redisUrl> <key> <routePath>');

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const app = Fastify({ logger: false });
app.get(routePath, async (_request, reply) => {
  const body = await redis.get(key);
  if (body === null) return reply.code(404).send({ error: 'baseline key missing' });
  return reply.type('application/json; charset=utf-8').send(body);
});
app.get('/ready', async () => ({ ok: (await redis.ping()) === 'PONG' }));
await app.listen({ port: Number(port), host: '127.0.0.1' });

const close = () =>
  void app
    .close()
    .then(() => redis.quit())
    .then(() => process.exit(0));
process.once('SIGTERM', close);
process.once('SIGINT', close);
