// Development only: secrets the operator did not set are generated once and kept in the data directory.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';

interface DevSecrets {
  tokenEncryptionKey: string;
  authJwtSecret: string;
}

export const DEV_SECRETS_FILE = 'dev-secrets.json';

/**
 * Fills in a missing encryption key and JWT secret outside production.
 * Returns the config unchanged when nothing is missing, and the names of what was generated.
 */
export function applyDevSecrets(config: Config): { config: Config; generated: string[]; file?: string } {
  const needsKey = !config.encryption.currentKey;
  const needsAuth = !config.auth.jwtSecret && !config.auth.jwksUrl;
  if (config.env === 'production' || (!needsKey && !needsAuth)) return { config, generated: [] };

  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, DEV_SECRETS_FILE);
  let secrets: DevSecrets;
  if (existsSync(file)) {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  } else {
    secrets = { tokenEncryptionKey: randomBytes(32).toString('hex'), authJwtSecret: randomBytes(32).toString('hex') };
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  }
  const generated: string[] = [];
  if (needsKey) generated.push('TOKEN_ENCRYPTION_KEY');
  if (needsAuth) generated.push('AUTH_JWT_SECRET');
  const next: Config = {
    ...config,
    encryption: needsKey ? { ...config.encryption, currentKey: secrets.tokenEncryptionKey } : config.encryption,
    auth: needsAuth ? { ...config.auth, jwtSecret: secrets.authJwtSecret } : config.auth,
  };
  return { config: Object.freeze(next), generated, file };
}
