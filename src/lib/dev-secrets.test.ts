import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { DEV_SECRETS_FILE, applyDevSecrets } from './dev-secrets.js';

describe('applyDevSecrets', () => {
  it('generates missing secrets once, keeps them in the data dir and reuses them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-devsecrets-'));
    const first = applyDevSecrets(parseConfig({ DATA_DIR: dir }));
    expect(first.generated).toEqual(['TOKEN_ENCRYPTION_KEY', 'AUTH_JWT_SECRET']);
    expect(first.config.encryption.currentKey).toMatch(/^[0-9a-f]{64}$/);
    expect(first.config.auth.jwtSecret).toMatch(/^[0-9a-f]{64}$/);
    const file = join(dir, DEV_SECRETS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = applyDevSecrets(parseConfig({ DATA_DIR: dir }));
    expect(second.config.encryption.currentKey).toBe(first.config.encryption.currentKey);
    expect(second.config.auth.jwtSecret).toBe(first.config.auth.jwtSecret);
    expect(JSON.parse(readFileSync(file, 'utf8')).authJwtSecret).toBe(first.config.auth.jwtSecret);
  });

  it('leaves configured values alone and never runs in production', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-devsecrets-'));
    const set = applyDevSecrets(parseConfig({ DATA_DIR: dir, TOKEN_ENCRYPTION_KEY: 'a'.repeat(64), AUTH_JWKS_URL: 'https://idp.example.com/jwks' }));
    expect(set.generated).toEqual([]);
    expect(set.config.auth.jwtSecret).toBeUndefined();
    expect(set.config.encryption.currentKey).toBe('a'.repeat(64));
  });
});
