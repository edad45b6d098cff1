// Start-up shared by the server, the worker and the CLI: parse the environment once, fill dev secrets, make the logger.
import { ConfigError, parseConfig, type Config } from './config.js';
import { applyDevSecrets } from './lib/dev-secrets.js';
import { pino } from 'pino';
import { createLogger, type Logger } from './lib/logger.js';

export function boot(
  env: Record<string, string | undefined> = process.env,
  options: { logToStderr?: boolean } = {},
): { config: Config; logger: Logger } {
  let parsed: Config;
  try {
    parsed = parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${error.message}\nSee .env.example for every variable and its meaning.`);
      process.exit(1);
    }
    throw error;
  }
  const { config, generated, file } = applyDevSecrets(parsed);
  const logger = options.logToStderr
    ? createLogger({ level: config.logLevel, destination: pino.destination(2) })
    : createLogger({ level: config.logLevel, pretty: config.env === 'development' && process.stdout.isTTY });
  if (generated.length) {
    logger.warn(
      `${generated.join(' and ')} not set: using development values generated once and kept in ${file}. ` +
        'Set them explicitly before running anywhere real (NODE_ENV=production requires them).',
    );
  }
  return { config, logger };
}
