// The one failure the vault throws: a reason to branch on, and a message that never carries plaintext or ciphertext.

export const VAULT_ERROR_REASONS = ['unknown_key', 'tampered', 'malformed'] as const;
export type VaultErrorReason = (typeof VAULT_ERROR_REASONS)[number];

/**
 * unknown_key: sealed under a key the ring no longer holds (retired too early, or another deployment's).
 * tampered: authentication failed (edited bytes, another connection's or another purpose's ciphertext, wrong key).
 * malformed: not something the vault wrote.
 * No `cause` is attached on purpose: the vault decides what an operator may read.
 */
export class VaultError extends Error {
  constructor(
    readonly reason: VaultErrorReason,
    message: string,
    /** The key id named by the ciphertext, when it could be read (a key id is a fingerprint, not a secret). */
    readonly keyId?: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export function isVaultError(error: unknown): error is VaultError {
  return error instanceof VaultError;
}
