// The job queue on the project's database: a job travels from send to its handler, bad payloads stop at send, failures retry then fail.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { openTestDatabase } from '../../test/support/database.js';
import type { Database } from '../db/database.js';
import { createLogger } from '../lib/logger.js';
import type { JobDefinitions } from './jobs.js';
import { createJobQueue, type JobQueue, type JobState } from './queue.js';
import { createSystemPingHandler } from './handlers/system-ping.job.js';

let database: Database;
const lines: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  }),
});
const queues: JobQueue<JobDefinitions>[] = [];

/** A queue on the test database that polls fast; stopped after the file. */
function startQueue<M extends JobDefinitions>(jobs?: M): JobQueue<M> {
  const queue = createJobQueue({ database, logger, pollingIntervalSeconds: 0.5, stopTimeoutMs: 5_000, jobs });
  queues.push(queue as unknown as JobQueue<JobDefinitions>);
  return queue;
}

async function waitForState<M extends JobDefinitions>(queue: JobQueue<M>, name: keyof M & string, id: string, state: JobState) {
  await vi.waitFor(async () => expect(await queue.getJobState(name, id)).toBe(state), { timeout: 60_000, interval: 100 });
}

beforeAll(async () => {
  database = await openTestDatabase();
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.stop()));
  await database?.close();
});

describe('system.ping', () => {
  it('travels from send to its handler and completes', async () => {
    const queue = startQueue();
    await queue.start();
    // The real handler, alone: registering every handler here would take other test files' jobs on a shared database.
    await (queue as unknown as JobQueue).work('system.ping', createSystemPingHandler({ logger }));
    const note = `ping-${randomUUID()}`;

    const id = await queue.send('system.ping', { note });

    expect(id).toEqual(expect.any(String));
    await waitForState(queue, 'system.ping', id!, 'completed');
    expect(lines.join('')).toContain(note);
  });

  it('rejects an invalid payload at send', async () => {
    const queue = startQueue();
    await expect(queue.send('system.ping', { note: 42 } as never)).rejects.toThrow(/Invalid payload for job system\.ping/);
    await expect(queue.send('system.ping', {} as never)).rejects.toThrow(/note/);
    await expect(queue.send('system.pong' as never, { note: 'x' })).rejects.toThrow(/Unknown job system\.pong/);
  });
});

describe('a failing job', () => {
  // Queues of this file's own: on the shared PostgreSQL no other test's worker takes these jobs.
  const jobs = {
    'test.always-fails': { payload: z.object({ run: z.string() }) },
    'test.strict': { payload: z.object({ run: z.string() }) },
  } satisfies JobDefinitions;

  it('is retried after its handler throws, then fails', async () => {
    const queue = startQueue(jobs);
    const attempts = new Map<string, number[]>();
    await queue.work('test.always-fails', async (_payload, job) => {
      attempts.set(job.id, [...(attempts.get(job.id) ?? []), job.retryCount]);
      throw new Error('provider down');
    });

    const id = await queue.send('test.always-fails', { run: randomUUID() }, { retryLimit: 2, retryDelaySeconds: 0, retryBackoff: false });

    await waitForState(queue, 'test.always-fails', id!, 'failed');
    expect(attempts.get(id!)).toEqual([0, 1, 2]);
    expect(lines.join('')).toContain('provider down');
  });

  it('never reaches its handler with a payload the schema rejects', async () => {
    const queue = startQueue(jobs);
    const handler = vi.fn(async () => {});
    await queue.work('test.strict', handler);
    // send validates, so only a job written by another version of the hub can carry a stale shape.
    const olderHub = startQueue({ 'test.strict': { payload: z.object({ run: z.number() }) } });
    const id = await olderHub.send('test.strict', { run: 7 }, { retryLimit: 0 });

    await waitForState(queue, 'test.strict', id!, 'failed');
    expect(handler).not.toHaveBeenCalled();
    expect(lines.join('')).toContain('Invalid payload for job test.strict');
  });
});

describe('sending and stopping', () => {
  const jobs = {
    'test.one-pending': { payload: z.object({ run: z.string() }), queue: { policy: 'exclusive' } },
    'test.in-transaction': { payload: z.object({ run: z.string() }) },
    'test.slow': { payload: z.object({ ms: z.number().int() }) },
  } satisfies JobDefinitions;

  it('answers null for a job whose singleton key is already pending', async () => {
    const queue = startQueue(jobs);
    const key = `conn_${randomUUID()}`;
    const first = await queue.send('test.one-pending', { run: 'a' }, { singletonKey: key, startAfterSeconds: 3600 });
    const second = await queue.send('test.one-pending', { run: 'b' }, { singletonKey: key });
    const other = await queue.send('test.one-pending', { run: 'c' }, { singletonKey: `${key}-other`, startAfterSeconds: 3600 });

    expect(first).toEqual(expect.any(String));
    expect(second).toBeNull();
    expect(other).toEqual(expect.any(String));
  });

  it('creates a job sent inside a transaction only if that transaction commits', async () => {
    const queue = startQueue(jobs);
    await queue.start();
    const committed = await database.db.transaction((tx) => queue.send('test.in-transaction', { run: 'a' }, { tx }));
    let rolledBack: string | null = null;
    const failing = database.db.transaction(async (tx) => {
      rolledBack = await queue.send('test.in-transaction', { run: 'b' }, { tx });
      throw new Error('roll back');
    });

    await expect(failing).rejects.toThrow('roll back');
    expect(await queue.getJobState('test.in-transaction', committed!)).toBe('created');
    expect(rolledBack).toEqual(expect.any(String));
    expect(await queue.getJobState('test.in-transaction', rolledBack!)).toBeNull();
  });

  it('waits for a running handler when it stops', async () => {
    const queue = createJobQueue({ database, logger, pollingIntervalSeconds: 0.5, stopTimeoutMs: 10_000, jobs });
    let finished = false;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    await queue.work('test.slow', async ({ ms }) => {
      started();
      await new Promise((r) => setTimeout(r, ms));
      finished = true;
    });
    const id = await queue.send('test.slow', { ms: 1_500 });
    await running;

    await queue.stop();

    expect(finished).toBe(true);
    const observer = startQueue(jobs);
    expect(await observer.getJobState('test.slow', id!)).toBe('completed');
    await expect(queue.send('test.slow', { ms: 1 })).rejects.toThrow(/stopped/);
  });
});
