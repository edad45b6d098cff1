// The durable job queue: pg-boss on the hub's own database (PostgreSQL or PGlite), typed by the map in jobs.ts.
import { sql } from 'drizzle-orm';
import { fromDrizzle, PgBoss, type DrizzleTransactionLike, type SendOptions as BossSendOptions, type Queue as BossQueue } from 'pg-boss';
import { z } from 'zod';
import type { Database, DbTransaction } from '../db/database.js';
import type { Logger } from '../lib/logger.js';
import { JOBS, type JobDefinitions, type JobQueueSettings } from './jobs.js';

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

export interface SendJobOptions {
  /** With a de-duplicating queue policy (jobs.ts), a second job with the same key is not created: send returns null. */
  singletonKey?: string;
  startAfterSeconds?: number;
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  /**
   * Insert the job inside this drizzle transaction: it exists only if the transaction commits, together
   * with the state it follows. On PGlite (one connection) a send from inside a transaction must use this.
   */
  tx?: DbTransaction;
}

export interface JobInfo {
  id: string;
  /** 0 on the first attempt. */
  retryCount: number;
  /** Aborted when the job expires or the queue stops without waiting. */
  signal: AbortSignal;
}

export type JobHandler<P> = (payload: P, job: JobInfo) => Promise<void>;

type NameOf<M> = keyof M & string;
type PayloadIn<M extends JobDefinitions, N extends NameOf<M>> = z.input<M[N]['payload']>;
type PayloadOut<M extends JobDefinitions, N extends NameOf<M>> = z.output<M[N]['payload']>;

export interface JobQueue<M extends JobDefinitions = typeof JOBS> {
  /** Starts pg-boss and creates every queue of the map. Idempotent; send and work also start it when needed. */
  start(): Promise<void>;
  /** Validates the payload against the map's schema (throws when invalid); resolves to the job id, or null when de-duplicated. */
  send<N extends NameOf<M>>(name: N, payload: PayloadIn<M, N>, options?: SendJobOptions): Promise<string | null>;
  /** Runs `handler` for each job of `name`; the payload is parsed with the map's schema first. */
  work<N extends NameOf<M>>(name: N, handler: JobHandler<PayloadOut<M, N>>, options?: { concurrency?: number }): Promise<void>;
  getJobState(name: NameOf<M>, id: string): Promise<JobState | null>;
  /** Stops fetching, waits (bounded) for running handlers, then stops pg-boss. */
  stop(): Promise<void>;
}

export interface JobQueueDeps<M extends JobDefinitions> {
  database: Database;
  logger: Logger;
  /** How often an idle worker looks for new jobs (pg-boss's minimum is 0.5). Default 2. */
  pollingIntervalSeconds?: number;
  /** How long stop() waits for running handlers. Default 20 s. */
  stopTimeoutMs?: number;
  /** pg-boss's schema. Default `pgboss`; hubs that share one database use one each. */
  schema?: string;
  /** The job map; the hub's own (jobs.ts) unless given. */
  jobs?: M;
}

/** What a queue gets unless jobs.ts says otherwise: a few retries, spaced out, and a bound on a stuck handler. */
const DEFAULT_QUEUE_SETTINGS: JobQueueSettings = { retryLimit: 3, retryDelaySeconds: 5, retryBackoff: true, expireInSeconds: 300 };

export function createJobQueue<M extends JobDefinitions = typeof JOBS>(deps: JobQueueDeps<M>): JobQueue<M> {
  const jobs = (deps.jobs ?? JOBS) as M;
  const log = deps.logger.child({ component: 'jobs' });
  const boss = new PgBoss({
    db: { executeSql: (text, values) => deps.database.executeSql(text, values) },
    backend: deps.database.kind === 'pglite' ? 'pglite' : 'postgres',
    schema: deps.schema ?? 'pgboss',
  });
  // pg-boss reports maintenance and polling failures as events; an unheard 'error' would crash the process.
  boss.on('error', (err) => log.error({ err }, 'job queue error'));
  boss.on('warning', (warning) => log.warn({ detail: warning.data }, `job queue warning: ${warning.message}`));

  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  async function startOnce() {
    await boss.start();
    for (const [name, definition] of Object.entries(jobs)) {
      const { policy = 'standard', ...settings } = { ...DEFAULT_QUEUE_SETTINGS, ...definition.queue };
      const options = toBossQueueOptions(settings);
      await boss.createQueue(name, { policy, ...options });
      // createQueue leaves an existing queue alone: apply what jobs.ts says now (the policy cannot change).
      await boss.updateQueue(name, options);
    }
  }

  function ensureStarted(): Promise<void> {
    if (stopping) return Promise.reject(new Error('The job queue is stopped.'));
    starting ??= startOnce();
    return starting;
  }

  function schemaOf(name: string): z.ZodType {
    const definition = jobs[name];
    if (!definition) throw new Error(`Unknown job ${name}.`);
    return definition.payload;
  }

  return {
    start: ensureStarted,

    async send(name, payload, options = {}) {
      const parsed = schemaOf(name).safeParse(payload);
      if (!parsed.success) throw new Error(`Invalid payload for job ${name}: ${z.prettifyError(parsed.error)}`);
      await ensureStarted();
      return boss.send(name, parsed.data as object, toBossSendOptions(options));
    },

    async work(name, handler, options = {}) {
      const schema = schemaOf(name);
      await ensureStarted();
      const workOptions = {
        localConcurrency: options.concurrency ?? 1,
        ...(deps.pollingIntervalSeconds === undefined ? {} : { pollingIntervalSeconds: deps.pollingIntervalSeconds }),
      };
      await boss.work<unknown>(name, workOptions, async ([job]) => {
        if (!job) return;
        const context = { job: name, jobId: job.id, retryCount: job.retryCount };
        try {
          const payload = schema.safeParse(job.data);
          if (!payload.success) throw new Error(`Invalid payload for job ${name}: ${z.prettifyError(payload.error)}`);
          await handler(payload.data as PayloadOut<M, typeof name>, { id: job.id, retryCount: job.retryCount, signal: job.signal });
        } catch (err) {
          log.warn({ ...context, err }, 'job attempt failed');
          throw err; // pg-boss records it and retries the job, or fails it once its retries are spent
        }
      });
    },

    async getJobState(name, id) {
      await ensureStarted();
      const [job] = await boss.findJobs(name, { id });
      return job ? job.state : null;
    },

    stop() {
      if (!starting) return Promise.resolve();
      stopping ??= starting
        .catch(() => undefined) // a failed start leaves nothing to stop but pg-boss's own timers
        .then(() => boss.stop({ graceful: true, timeout: deps.stopTimeoutMs ?? 20_000 }));
      return stopping;
    },
  };
}

function toBossQueueOptions(settings: Omit<JobQueueSettings, 'policy'>): Omit<BossQueue, 'name' | 'policy'> {
  return dropUndefined({
    retryLimit: settings.retryLimit,
    retryDelay: settings.retryDelaySeconds,
    retryBackoff: settings.retryBackoff,
    expireInSeconds: settings.expireInSeconds,
  });
}

function toBossSendOptions(options: SendJobOptions): BossSendOptions {
  return dropUndefined({
    // Both drivers' execute() answer `{ rows }`; drizzle's common type just does not say so.
    db: options.tx ? fromDrizzle(options.tx as unknown as DrizzleTransactionLike, sql) : undefined,
    singletonKey: options.singletonKey,
    startAfter: options.startAfterSeconds,
    retryLimit: options.retryLimit,
    retryDelay: options.retryDelaySeconds,
    retryBackoff: options.retryBackoff,
  });
}

/** pg-boss validates options by key presence, so an explicit `undefined` must not reach it. */
function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
