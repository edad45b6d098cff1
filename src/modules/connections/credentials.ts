// What a connection's ciphertext holds, and the only place connections seal or open it (through the vault).
import type { ApiCredentials } from '../../connectors/types.js';
import type { Vault } from '../vault/vault.service.js';

export type StoredCredentials = ApiCredentials;

export function createCredentialSealer(deps: { vault: Vault }) {
  return {
    seal(connectionId: string, credentials: StoredCredentials) {
      const sealed = deps.vault.seal(connectionId, 'credentials', credentials);
      return { credentials: sealed.ciphertext, credentialsKeyId: sealed.keyId };
    },
    /** Throws VaultError when the ciphertext was tampered with or its key is gone: fail closed. */
    open(connectionId: string, ciphertext: string): StoredCredentials {
      return deps.vault.open<StoredCredentials>(connectionId, 'credentials', ciphertext);
    },
    newDataKey(connectionId: string): string {
      return deps.vault.createDataKey(connectionId).wrapped;
    },
  };
}

export type CredentialSealer = ReturnType<typeof createCredentialSealer>;
