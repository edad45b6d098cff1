// One wrk run (when wrk is installed): the same load as autocannon but in C, with sub-millisecond percentiles.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkOptions {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  threads: number;
  durationSeconds: number;
}

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Answers outside 2xx/3xx. */
  non2xx: number;
  /** Socket connect/read/write errors and timeouts. */
  errors: number;
}

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

const MARK = 'WRK_RESULT ';

/** The headers go into a Lua script (wrk takes none on its command line that it would not echo). */
function script(headers: Record<string, string>): string {
  const set = Object.entries(headers)
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  return `${set}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARK}{"requests":%d,"durationUs":%d,"non2xx":%d,"errors":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`;
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-bench-wrk-'));
  try {
    const file = join(dir, 'load.lua');
    writeFileSync(file, script(options.headers ?? {}), { mode: 0o600 });
    const args = ['-t', String(options.threads), '-c', String(options.connections), '-d', `${options.durationSeconds}s`, '--timeout', '5s', '-s', file, options.url];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (text += d.toString('utf8')));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text.slice(-2000)}`))));
    });
    const line = output.split('\n').find((l) => l.startsWith(MARK));
    if (!line) throw new Error(`wrk printed no result:\n${output.slice(-2000)}`);
    const r = JSON.parse(line.slice(MARK.length)) as Record<'requests' | 'durationUs' | 'non2xx' | 'errors' | 'p50' | 'p90' | 'p99' | 'p999' | 'max', number>;
    return {
      requestsPerSecond: r.requests / (r.durationUs / 1e6),
      requests: r.requests,
      p50Ms: r.p50 / 1000,
      p90Ms: r.p90 / 1000,
      p99Ms: r.p99 / 1000,
      p999Ms: r.p999 / 1000,
      maxMs: r.max / 1000,
      non2xx: r.non2xx,
      errors: r.errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
