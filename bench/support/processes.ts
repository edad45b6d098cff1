// Child processes of a benchmark: spawned on loopback, awaited until ready, measured, and always stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  name: string;
  pid: number;
  /** The last 64 KB the child wrote to stdout and stderr, for error messages. */
  output(): string;
  exit: ExitStatus | undefined;
  exited: Promise<ExitStatus>;
}

const running = new Set<{ child: Child; process: ChildProcess }>();

// A benchmark that dies for any reason must not leave servers behind.
process.once('exit', () => {
  for (const { process: p } of running) p.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `node <args>` with the given environment (added to this process's). */
export function spawnNode(name: string, args: string[], env: Record<string, string>): Child {
  const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (p.pid === undefined) throw new Error(`${name}: could not start`);
  let buffered = '';
  const keep = (data: Buffer) => {
    buffered = (buffered + data.toString('utf8')).slice(-65_536);
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  const child: Child = {
    name,
    pid: p.pid,
    output: () => buffered,
    exit: undefined,
    exited: new Promise((resolve) =>
      p.once('exit', (code, signal) => {
        child.exit = { code, signal };
        running.delete(entry);
        resolve(child.exit);
      }),
    ),
  };
  const entry = { child, process: p };
  running.add(entry);
  return child;
}

/** Polls `url` until it answers 200; returns the milliseconds since `since` (a performance.now() value). */
export async function waitForOk(child: Child, url: string, since: number, limitMs: number): Promise<number> {
  for (;;) {
    if (child.exit) {
      throw new Error(`${child.name} exited (code ${child.exit.code}) before ${url} answered:\n${child.output()}`);
    }
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      async (r) => (await r.arrayBuffer(), r.status === 200),
      () => false,
    );
    const elapsed = performance.now() - since;
    if (ok) return elapsed;
    if (elapsed > limitMs) throw new Error(`${child.name}: ${url} not 200 within ${limitMs} ms:\n${child.output()}`);
    await sleep(20);
  }
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/** SIGTERM, then SIGKILL after `graceMs`; returns how it exited and how long it took. */
export async function stop(child: Child, graceMs = 15_000): Promise<ExitStatus & { ms: number; killed: boolean }> {
  const started = performance.now();
  const entry = [...running].find((e) => e.child === child);
  if (!entry) return { ...(child.exit ?? { code: null, signal: null }), ms: 0, killed: false };
  entry.process.kill('SIGTERM');
  const status = await Promise.race([child.exited, sleep(graceMs, undefined, { ref: false })]);
  if (status) return { ...status, ms: performance.now() - started, killed: false };
  entry.process.kill('SIGKILL');
  return { ...(await child.exited), ms: performance.now() - started, killed: true };
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(({ child }) => stop(child, 5_000)));
}
