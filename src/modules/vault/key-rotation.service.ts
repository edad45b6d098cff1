// Key rotation: re-encrypts every connection's credentials and data key under the current key, resumably and while the hub runs.
import type { Db } from '../../db/database.js';
import type { Logger } from '../../lib/logger.js';
import { createKeyRotationRepo, type CurrentKey, type RotatedCiphertexts, type RotationCandidate } from './key-rotation.repo.js';
import { createSecretRotationRepo } from './secret-rotation.repo.js';
import { isVaultError } from './vault-error.js';
import type { Vault } from './vault.service.js';

export interface RotationResult {
  /** Connections re-encrypted by this run. */
  rotated: number;
  /** Webhook subscription secrets re-encrypted by this run. */
  secretsRotated: number;
  /** Connections still under an old key because concurrent writes kept changing them; the next run takes them. */
  skipped: number;
  /** Connections that could not be decrypted (unknown key, tampered, malformed); left untouched. */
  failed: number;
}

export type RotationOutcome = 'rotated' | 'conflict' | 'failed';

export interface RotationProgress extends RotationResult {
  connectionId: string;
  outcome: RotationOutcome;
}

export interface RotateAllOptions {
  /** Rows read per query. */
  batchSize?: number;
  /** How many times rows that changed under the run are re-read before they are left for the next run. */
  maxPasses?: number;
  /** Called after each connection; a throw stops the run, and the next run resumes where it stopped. */
  onProgress?: (progress: RotationProgress) => void | Promise<void>;
}

export interface KeyRotationDeps {
  db: Db;
  vault: Pick<Vault, 'currentKeyId' | 'currentKeyPrefix' | 'rewrap'>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

/**
 * Resumable without saved state: the work list is a query (connections whose ciphertext is not under the
 * current key), so a run that stopped halfway leaves exactly the rest for the next one.
 * Safe while the hub runs: each row is written with a compare-and-set on what was read, so a refresh that
 * stored new tokens meanwhile wins, and the row is re-read and rotated with its new tokens.
 *
 * credentials_version is compared but not bumped: rotation changes the encoding, not the credentials, and
 * bumping it would make a refresh that read the row just before lose its compare-and-set, and with it a
 * rotating refresh token the provider has already replaced.
 */
export function createKeyRotation(deps: KeyRotationDeps) {
  const { vault, logger } = deps;
  const repo = createKeyRotationRepo(deps.db);
  const secrets = createSecretRotationRepo(deps.db);

  return {
    async rotateAll(options: RotateAllOptions = {}): Promise<RotationResult> {
      const batchSize = options.batchSize ?? 200;
      const maxPasses = options.maxPasses ?? 5;
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
      if (!Number.isInteger(maxPasses) || maxPasses < 1) throw new RangeError('maxPasses must be a positive integer');

      const current: CurrentKey = { keyId: vault.currentKeyId, prefix: vault.currentKeyPrefix };
      const failed = new Set<string>();
      // Rows whose compare-and-set lost to a concurrent writer: re-read on the next pass.
      let changed = new Set<string>();
      let rotated = 0;
      let secretsRotated = 0;

      const totals = (): RotationResult => ({ rotated, secretsRotated, skipped: changed.size, failed: failed.size });

      async function rotateRow(row: RotationCandidate) {
        let outcome: RotationOutcome;
        const next = rewrapRow(row);
        if (!next) {
          failed.add(row.id);
          outcome = 'failed';
        } else if (await repo.replaceCiphertexts(row, next, current.keyId)) {
          rotated++;
          changed.delete(row.id);
          outcome = 'rotated';
        } else {
          changed.add(row.id);
          outcome = 'conflict';
        }
        await options.onProgress?.({ connectionId: row.id, outcome, ...totals() });
      }

      /** The row's stale ciphertexts sealed again under the current key; undefined when one cannot be opened. */
      function rewrapRow(row: RotationCandidate): RotatedCiphertexts | undefined {
        const prefix = current.prefix;
        try {
          const next: RotatedCiphertexts = {};
          if (row.credentials !== null && (row.credentialsKeyId !== current.keyId || !row.credentials.startsWith(prefix))) {
            next.credentials = vault.rewrap(row.id, 'credentials', row.credentials);
          }
          if (row.dataKey !== null && !row.dataKey.startsWith(prefix)) {
            next.dataKey = vault.rewrap(row.id, 'data-key', row.dataKey).ciphertext;
          }
          return next;
        } catch (error) {
          if (!isVaultError(error)) throw error;
          // The connection id, the reason and the key fingerprint: never the ciphertext.
          logger.warn(
            { connectionId: row.id, reason: error.reason, ...(error.keyId ? { keyId: error.keyId } : {}) },
            'key rotation: could not decrypt this connection, left it as it is',
          );
          return undefined;
        }
      }

      // Pass 1 walks every stale row once, in id order.
      let afterId: string | undefined;
      for (;;) {
        const rows = await repo.listStale(current, afterId, batchSize);
        for (const row of rows) await rotateRow(row);
        if (rows.length < batchSize) break;
        afterId = rows.at(-1)!.id;
      }

      // Later passes re-read only the rows that changed under the run. A row that a writer meanwhile sealed
      // under the current key is no longer stale and drops out; the others are rotated with their new content.
      for (let pass = 2; pass <= maxPasses && changed.size > 0; pass++) {
        const ids = [...changed];
        changed = new Set();
        for (let i = 0; i < ids.length; i += batchSize) {
          for (const row of await repo.findStale(current, ids.slice(i, i + batchSize))) {
            if (!failed.has(row.id)) await rotateRow(row);
          }
        }
      }

      // Webhook subscription secrets: a row whose secret changed meanwhile (a handshake) is left for the next run.
      let afterSecret: string | undefined;
      for (;;) {
        const rows = await secrets.listStale(current, afterSecret, batchSize);
        for (const row of rows) {
          try {
            if (await secrets.replace(row, vault.rewrap(row.connectionId, 'webhook-secret', row.secret))) secretsRotated++;
            else changed.add(row.id);
          } catch (error) {
            if (!isVaultError(error)) throw error;
            logger.warn({ subscriptionId: row.id, reason: error.reason }, 'key rotation: could not decrypt a webhook secret, left it as it is');
            failed.add(row.id);
          }
        }
        if (rows.length < batchSize) break;
        afterSecret = rows.at(-1)!.id;
      }

      const result = totals();
      logger.info({ keyId: current.keyId, ...result }, 'key rotation finished');
      return result;
    },
  };
}

export type KeyRotation = ReturnType<typeof createKeyRotation>;
