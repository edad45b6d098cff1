// AES-256-GCM from node:crypto, with the vault's fixed sizes, and strict base64url for the text forms.
import { KeyObject, createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VaultError } from './vault-error.js';

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export interface GcmSealed {
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/** A fresh random 96-bit IV per message: with at most a few billion messages per key, collisions stay negligible. */
export function gcmEncrypt(key: Buffer | KeyObject, plaintext: Buffer, aad: Buffer): GcmSealed {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), data };
}

/** Throws VaultError('tampered') when the key, the AAD or any byte does not match. */
export function gcmDecrypt(key: Buffer | KeyObject, sealed: GcmSealed, aad: Buffer): Buffer {
  assertKey(key);
  if (sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) {
    throw new VaultError('malformed', 'ciphertext has a wrong IV or tag length');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.data), decipher.final()]);
  } catch {
    throw new VaultError('tampered', 'ciphertext failed authentication (altered, or bound to another connection or purpose)');
  }
}

/** A KeyObject (made once with createSecretKey) spares Node building one per call on hot paths. */
function assertKey(key: Buffer | KeyObject) {
  if (key instanceof KeyObject) {
    if (key.type !== 'secret' || key.symmetricKeySize !== KEY_BYTES) throw new VaultError('malformed', `an AES-256 key must be ${KEY_BYTES} bytes`);
    return;
  }
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new VaultError('malformed', `an AES-256 key must be ${KEY_BYTES} bytes`);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Only the canonical encoding is accepted, so one ciphertext has exactly one spelling. */
export function decodeBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
