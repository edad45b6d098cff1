// The environment, parsed once at start by one zod schema and frozen; a bad value stops the start.
import { z } from 'zod';
import { connectors } from './connectors/index.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const url = z.url({ protocol: /^https?$/ });
const redisUrl = z.url({ protocol: /^rediss?$/ });
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/ });
const hexKey = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (32 bytes): openssl rand -hex 32');
const optionalString = z.string().min(1).optional();
const csv = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** Variables shared by every deployment. Each line is one variable and its default. */
const baseSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3006),
  HOST: optionalString,
  PUBLIC_URL: url.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./.data'),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  REDIS_URL: redisUrl.optional(),
  TOKEN_ENCRYPTION_KEY: hexKey.optional(),
  TOKEN_ENCRYPTION_KEYS_PREVIOUS: z
    .string()
    .transform((v, ctx) => {
      const keys = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const k of keys) {
        if (!/^[0-9a-fA-F]{64}$/.test(k)) {
          ctx.addIssue({ code: 'custom', message: 'every key must be 64 hex characters, comma-separated' });
        }
      }
      return keys;
    })
    .default([]),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters: openssl rand -hex 32').optional(),
  AUTH_JWKS_URL: url.optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).default('integration-hub'),
  AUTH_JWT_ISSUER: optionalString,
  AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  HUB_ALLOWED_RETURN_ORIGINS: csv.pipe(z.array(z.url())).default([]),
  REFRESH_AHEAD_SECONDS: z.coerce.number().int().min(30).default(600),
  REFRESH_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
  SYNC_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(900),
  RUN_WORKERS: bool.default(true),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  TRUST_PROXY: bool.default(false),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  WEBHOOK_SUBSCRIPTIONS: bool.optional(),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  EVENTS_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(300).default(15),
});

export interface ProviderEnv {
  clientId?: string;
  clientSecret?: string;
  authorizeUrl?: string;
  tokenUrl?: string;
  revokeUrl?: string;
  apiUrl?: string;
  /** The connector's `extraEnv` variables, by variable name. */
  extra: Record<string, string | undefined>;
}

/** The six standard variables of one provider prefix. */
export function providerVariables(prefix: string) {
  return {
    clientId: `${prefix}_CLIENT_ID`,
    clientSecret: `${prefix}_CLIENT_SECRET`,
    authorizeUrl: `${prefix}_AUTHORIZE_URL`,
    tokenUrl: `${prefix}_TOKEN_URL`,
    revokeUrl: `${prefix}_REVOKE_URL`,
    apiUrl: `${prefix}_API_URL`,
  } as const;
}

function providerSchema() {
  const shape: Record<string, z.ZodType> = {};
  for (const c of connectors) {
    const v = providerVariables(c.envPrefix);
    shape[v.clientId] = optionalString;
    shape[v.clientSecret] = optionalString;
    shape[v.authorizeUrl] = url.optional();
    shape[v.tokenUrl] = url.optional();
    shape[v.revokeUrl] = url.optional();
    shape[v.apiUrl] = url.optional();
    for (const name of Object.keys(c.extraEnv ?? {})) shape[name] = optionalString;
  }
  return z.object(shape);
}

/** Every variable the hub reads, for `.env.example` and its test. */
export function knownVariables(): string[] {
  return [...Object.keys(baseSchema.shape), ...Object.keys(providerSchema().shape)];
}

type Base = z.infer<typeof baseSchema>;

export interface Config {
  env: Base['NODE_ENV'];
  port: number;
  host: string;
  publicUrl: string;
  logLevel: Base['LOG_LEVEL'];
  dataDir: string;
  databaseUrl?: string;
  databasePoolSize: number;
  redisUrl?: string;
  encryption: { currentKey?: string; previousKeys: string[] };
  auth: { jwtSecret?: string; jwksUrl?: string; audience: string; issuer?: string; clockToleranceSeconds?: number };
  allowedReturnOrigins: string[];
  refreshAheadSeconds: number;
  refreshConcurrency: number;
  syncIntervalSeconds: number;
  runWorkers: boolean;
  bodyLimitBytes: number;
  rateLimit: { perTokenPerMinute: number; perIpPerMinute: number };
  trustProxy: boolean;
  shutdownTimeoutMs: number;
  /** Create per-connection webhook subscriptions at providers that need them (Graph, Google, Asana, Jira). */
  webhookSubscriptions: boolean;
  /** Processing attempts of a stored webhook event before it is marked failed (replayable). */
  webhookMaxAttempts: number;
  eventsHeartbeatSeconds: number;
  /** Per connector slug: credentials and URL overrides. */
  providers: Record<string, ProviderEnv>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    return `${name}: ${issue.message}`;
  });
}

/** Parses the environment. Throws ConfigError naming each bad variable and how to fix it. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "unset": `FOO=` in a .env file should not fail a URL check.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const base = baseSchema.safeParse(cleaned);
  const providers = providerSchema().safeParse(cleaned);
  const problems = [
    ...(base.success ? [] : describeIssues(base.error)),
    ...(providers.success ? [] : describeIssues(providers.error)),
  ];
  if (!base.success || !providers.success) throw new ConfigError(problems);

  const b = base.data;
  const p = providers.data as Record<string, string | undefined>;
  if (b.NODE_ENV === 'production') {
    const missing: string[] = [];
    if (!b.TOKEN_ENCRYPTION_KEY) missing.push('TOKEN_ENCRYPTION_KEY: required in production (openssl rand -hex 32)');
    if (!b.AUTH_JWT_SECRET && !b.AUTH_JWKS_URL) {
      missing.push('AUTH_JWT_SECRET or AUTH_JWKS_URL: one is required in production to verify callers');
    }
    if (!b.DATABASE_URL) missing.push('DATABASE_URL: required in production (postgres://user:pass@host:5432/db)');
    if (!b.REDIS_URL) missing.push('REDIS_URL: required in production (redis://host:6379)');
    if (missing.length) throw new ConfigError(missing);
  }
  if (b.AUTH_JWT_SECRET && b.AUTH_JWKS_URL) {
    throw new ConfigError(['AUTH_JWT_SECRET and AUTH_JWKS_URL: set one, not both']);
  }

  const providerEnv: Record<string, ProviderEnv> = {};
  for (const c of connectors) {
    const v = providerVariables(c.envPrefix);
    providerEnv[c.slug] = {
      clientId: p[v.clientId],
      clientSecret: p[v.clientSecret],
      authorizeUrl: p[v.authorizeUrl],
      tokenUrl: p[v.tokenUrl],
      revokeUrl: p[v.revokeUrl],
      apiUrl: p[v.apiUrl],
      extra: Object.fromEntries(Object.keys(c.extraEnv ?? {}).map((name) => [name, p[name]])),
    };
  }

  const host = b.HOST ?? (b.NODE_ENV === 'production' ? '0.0.0.0' : 'localhost');
  const publicUrl = (b.PUBLIC_URL ?? `http://localhost:${b.PORT}`).replace(/\/$/, '');
  return deepFreeze({
    env: b.NODE_ENV,
    port: b.PORT,
    host,
    publicUrl,
    logLevel: b.LOG_LEVEL,
    dataDir: b.DATA_DIR,
    databaseUrl: b.DATABASE_URL,
    databasePoolSize: b.DATABASE_POOL_SIZE,
    redisUrl: b.REDIS_URL,
    encryption: { currentKey: b.TOKEN_ENCRYPTION_KEY?.toLowerCase(), previousKeys: b.TOKEN_ENCRYPTION_KEYS_PREVIOUS },
    auth: { jwtSecret: b.AUTH_JWT_SECRET, jwksUrl: b.AUTH_JWKS_URL, audience: b.AUTH_JWT_AUDIENCE, issuer: b.AUTH_JWT_ISSUER, clockToleranceSeconds: b.AUTH_CLOCK_TOLERANCE_SECONDS },
    allowedReturnOrigins: b.HUB_ALLOWED_RETURN_ORIGINS.map((o) => new URL(o).origin),
    refreshAheadSeconds: b.REFRESH_AHEAD_SECONDS,
    refreshConcurrency: b.REFRESH_CONCURRENCY,
    syncIntervalSeconds: b.SYNC_INTERVAL_SECONDS,
    runWorkers: b.RUN_WORKERS,
    bodyLimitBytes: b.BODY_LIMIT_BYTES,
    rateLimit: { perTokenPerMinute: b.RATE_LIMIT_PER_MINUTE, perIpPerMinute: b.RATE_LIMIT_PER_IP_PER_MINUTE },
    trustProxy: b.TRUST_PROXY,
    shutdownTimeoutMs: b.SHUTDOWN_TIMEOUT_MS,
    // Providers deliver only to public HTTPS URLs: subscribing from http://localhost would only fail.
    webhookSubscriptions: b.WEBHOOK_SUBSCRIPTIONS ?? publicUrl.startsWith('https://'),
    webhookMaxAttempts: b.WEBHOOK_MAX_ATTEMPTS,
    eventsHeartbeatSeconds: b.EVENTS_HEARTBEAT_SECONDS,
    providers: providerEnv,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
