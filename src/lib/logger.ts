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
export function lazyChild(parent: Logger, bindings: Record<string, unknown>, options: pino.ChildLoggerOptions): Logger {
  if (options && Object.keys(options).length) return parent.child(bindings, options);
  let made: Logger | undefined;
  const real = () => (made ??= parent.child(bindings));
  const at = (level: Level) =>
    function log(this: unknown, ...args: unknown[]) {
      if (!parent.isLevelEnabled(level)) return;
      (real()[level] as (...a: unknown[]) => void)(...args);
    };
  const lazy = {
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: () => undefined,
    child: (more: Record<string, unknown>, opts?: pino.ChildLoggerOptions) => real().child(more, opts),
    isLevelEnabled: (level: string) => parent.isLevelEnabled(level),
    bindings: () => real().bindings(),
    get level() {
      return parent.level;
    },
  };
  return lazy as unknown as Logger;
}
