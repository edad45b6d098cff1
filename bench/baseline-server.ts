// The baseline of the HTTP benchmarks: bare Fastify 5 answering fixed JSON bodies, no hooks, no plugins.
// Usage: node --import tsx bench/baseline-server.ts <port> <routes.json>, routes.json mapping path → JSON body.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [port, routesFile] = process.argv.slice(2);
if (!port || !routesFile) throw new Error('usage: baseline-server.ts <port> <routes.json>');
const routes = JSON.parse(readFileSync(routesFile, 'utf8')) as Record<string, unknown>;

const app = Fastify({ logger: false });
for (const [path, body] of Object.entries(routes)) {
  // The object, not a prepared string: Fastify serializes it per request, as a real route would.
  app.get(path, async () => body);
}
app.get('/ready', async () => ({ ok: true }));
await app.listen({ port: Number(port), host: '127.0.0.1' });

const close = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', close);
process.once('SIGINT', close);
