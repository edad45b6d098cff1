// The baseline of the webhook benchmark: bare Fastify 5 that does the least a verified, durable inbox can do:
// check the provider's HMAC over the raw body, INSERT the delivery once (ON CONFLICT DO NOTHING), answer 200.
// Usage: node --import tsx bench/support/webhook-baseline-server.ts <port> <databaseUrl> <githubSecret> <stripeSecret>
import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const [port, databaseUrl, githubSecret, stripeSecret] = process.argv.slice(2);
if (!port || !databaseUrl || !githubSecret || !stripeSecret) throw new Error('usage: webhook-baseline-server.ts <port> <databaseUrl> <githubSecret> <stripeSecret>');

const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
await pool.query(`CREATE TABLE IF NOT EXISTS bench_webhook_baseline (
  provider text NOT NULL, delivery_id text NOT NULL, payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, delivery_id))`);

const equal = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const hex = (secret: string, ...parts: (string | Buffer)[]) => {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

const app = Fastify({ logger: false });
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.removeContentTypeParser('application/json');
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

app.post('/webhooks/github', async (request, reply) => {
  const raw = request.body as Buffer;
  const signature = String(request.headers['x-hub-signature-256'] ?? '');
  if (!equal(signature, `sha256=${hex(githubSecret, raw)}`)) return reply.code(401).send();
  await pool.query('INSERT INTO bench_webhook_baseline (provider, delivery_id, payload) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    'github', String(request.headers['x-github-delivery']), raw.toString('utf8'),
  ]);
  return { ok: true };
});

app.post('/webhooks/stripe', async (request, reply) => {
  const raw = request.body as Buffer;
  const parts = String(request.headers['stripe-signature'] ?? '').split(',');
  const t = parts.find((p) => p.startsWith('t='))?.slice(2) ?? '';
  const v1 = parts.filter((p) => p.startsWith('v1=')).map((p) => p.slice(3));
  const expected = hex(stripeSecret, `${t}.`, raw);
  if (!v1.some((s) => equal(s, expected)) || Math.abs(Date.now() / 1000 - Number(t)) > 300) return reply.code(401).send();
  const event = JSON.parse(raw.toString('utf8')) as { id: string };
  await pool.query('INSERT INTO bench_webhook_baseline (provider, delivery_id, payload) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', ['stripe', event.id, raw.toString('utf8')]);
  return { ok: true };
});

app.get('/ready', async () => ({ ok: (await pool.query('select 1')).rowCount === 1 }));
await app.listen({ port: Number(port), host: '127.0.0.1' });

const close = () => void app.close().then(() => pool.end()).then(() => process.exit(0));
process.once('SIGTERM', close);
process.once('SIGINT', close);
