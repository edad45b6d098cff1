// The one map of the hub's jobs: name → payload schema and queue settings. Add a job here, then its handler in register.ts.
import { z } from 'zod';

/** How pg-boss keeps a job's queue; the policy decides what a `singletonKey` de-duplicates. */
export interface JobQueueSettings {
  /**
   * `standard`: no de-duplication by key · `short`: one queued per key · `singleton`: one active per key ·
   * `stately`: one queued and one active per key · `exclusive`: one queued or active per key.
   */
  policy?: 'standard' | 'short' | 'singleton' | 'stately' | 'exclusive';
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  /** How long a handler may run before the job is failed (and retried). */
  expireInSeconds?: number;
}

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  payload: S;
  queue?: JobQueueSettings;
}

export type JobDefinitions = Record<string, JobDefinition>;

export const JOBS = {
  /** Proves the path from send to handler; the handler only logs its note. */
  'system.ping': { payload: z.object({ note: z.string() }), queue: { retryLimit: 0 } },
  /** Refreshes every recently read widget of one connection (a `sync_runs` row says what and how it went). */
  'widgets.sync': { payload: z.object({ syncId: z.string().min(1) }), queue: { retryLimit: 2, retryDelaySeconds: 10, expireInSeconds: 600 } },
  /** Creates (or replaces) a connection's webhook subscriptions at its provider; one queued and one running per connection. */
  'webhooks.subscribe': {
    payload: z.object({ connectionId: z.string().min(1) }),
    queue: { policy: 'stately', retryLimit: 5, retryDelaySeconds: 30, retryBackoff: true, expireInSeconds: 300 },
  },
} as const satisfies JobDefinitions;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.output<(typeof JOBS)[N]['payload']>;
