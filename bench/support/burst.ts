// N GETs at once: sockets opened and kept alive beforehand, so the burst is requests, not TCP handshakes.
import { Agent, request } from 'node:http';

export interface BurstTarget {
  /** Origin of the server (`http://127.0.0.1:port`). */
  origin: string;
  /** Path and query of the burst's requests. */
  path: string;
  headers: Record<string, string>;
  count: number;
  /** A cheap path used to open the sockets beforehand. */
  warmPath: string;
}

export interface BurstAnswer {
  status: number;
  body: string;
  /** From this request's write to its last body byte. */
  ms: number;
}

export interface Burst {
  /** Fires every target's requests, interleaved, in one synchronous loop; resolves when all have answered. */
  fire(): Promise<{ answers: BurstAnswer[][]; firedInMs: number; wallMs: number }>;
  close(): void;
}

function get(agent: Agent, origin: string, path: string, headers: Record<string, string>): Promise<BurstAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, origin), { agent, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${origin}${path}: no answer within 60 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Opens `count` keep-alive sockets per target and returns a burst ready to fire on them. */
export async function prepareBurst(targets: BurstTarget[]): Promise<Burst> {
  const agents = targets.map((t) => new Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: t.count, maxFreeSockets: t.count }));
  await Promise.all(
    targets.flatMap((t, i) =>
      Array.from({ length: t.count }, async () => {
        const a = await get(agents[i]!, t.origin, t.warmPath, {});
        if (a.status !== 200) throw new Error(`${t.origin}${t.warmPath} answered ${a.status} while opening sockets`);
      }),
    ),
  );
  for (const [i, t] of targets.entries()) {
    const free = Object.values(agents[i]!.freeSockets).reduce((n, list) => n + (list?.length ?? 0), 0);
    if (free < t.count) throw new Error(`only ${free} of ${t.count} sockets stayed open to ${t.origin}`);
  }
  return {
    async fire() {
      const pending: Promise<BurstAnswer>[][] = targets.map(() => []);
      const started = performance.now();
      const most = Math.max(...targets.map((t) => t.count));
      for (let n = 0; n < most; n++) {
        for (const [i, t] of targets.entries()) if (n < t.count) pending[i]!.push(get(agents[i]!, t.origin, t.path, t.headers));
      }
      const firedInMs = performance.now() - started;
      const answers = await Promise.all(pending.map((p) => Promise.all(p)));
      return { answers, firedInMs, wallMs: performance.now() - started };
    },
    close() {
      for (const a of agents) a.destroy();
    },
  };
}
