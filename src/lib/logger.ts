// pino with redaction: no token, code, secret, cookie or credential ever reaches a log line.
import { pino, type Logger } from 'pino';

/** Query parameters whose values are never logged (OAuth codes, states, tokens, signatures). */
const SECRET_PARAM = /code|state|token|secret|key|signature|password|assertion|verifier|challenge/i;

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["stripe-signature"]',
  'req.headers["x-slack-signature"]',
  'req.headers["x-gitlab-token"]',
  'res.headers["set-cookie"]',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.client_secret',
  '*.code',
  '*.code_verifier',
  '*.token',
  '*.secret',
  '*.password',
  '*.credentials',
  '*.apiKey',
  '*.appKey',
  'access_token',
  'refresh_token',
  'client_secret',
  'credentials',
  'token',
];

/** The URL with every sensitive query value replaced, so request logs stay safe. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of [...params.keys()]) {
    if (SECRET_PARAM.test(name)) params.set(name, '[Redacted]');
  }
  return `${url.slice(0, q)}?${params.toString()}`;
}

export function createLogger(options: { level: string; pretty?: boolean; destination?: pino.DestinationStream }): Logger {
  const base: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    serializers: {
      req: (req: { method: string; url: string; id?: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        id: req.id,
        ip: req.ip,
      }),
      err: pino.stdSerializers.err,
    },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } });
  }
  return pino(base);
}

export type { Logger };

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger, made only when something is logged at an enabled level: pino's child() serializes and
 * redacts the bindings on every request, and most requests log nothing at the production level.
 */
class LazyChild {
  #made: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly bindingsGiven: Record<string, unknown>,
  ) {}

  private real(): Logger {
    return (this.#made ??= this.parent.child(this.bindingsGiven));
  }

  get level(): string {
    return this.parent.level;
  }
  isLevelEnabled(level: string): boolean {
    return this.parent.isLevelEnabled(level);
  }
  bindings(): Record<string, unknown> {
    return this.real().bindings();
  }
  child(bindings: Record<string, unknown>, options?: pino.ChildLoggerOptions): Logger {
    return this.real().child(bindings, options);
  }
  silent(): void {}

  /** Logs at `level` through the real child, made on first use; nothing at all when the level is off. */
  log(level: Level, args: unknown[]): void {
    if (this.parent.isLevelEnabled(level)) (this.real()[level] as (...a: unknown[]) => void)(...args);
  }
}

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
for (const level of LEVELS) {
  Object.defineProperty(LazyChild.prototype, level, {
    value(this: LazyChild, ...args: unknown[]) {
      this.log(level, args);
    },
  });
}

/** The child logger Fastify makes per request, made lazily (see LazyChild); with options, made at once. */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>, options: pino.ChildLoggerOptions): Logger {
  if (options && Object.keys(options).length) return parent.child(bindings, options);
  return new LazyChild(parent, bindings) as unknown as Logger;
}
