// The vault: the only code that encrypts or decrypts secrets. Ciphertexts name their key and are bound to a connection and a purpose.
import { randomBytes, type KeyObject } from 'node:crypto';
import { decodeBase64url, gcmDecrypt, gcmEncrypt, IV_BYTES, KEY_BYTES, TAG_BYTES, type GcmSealed } from './aes-gcm.js';
import { KEY_ID_PATTERN, type KeyRing } from './keyring.js';
import { VaultError } from './vault-error.js';

/**
 * What a ciphertext is for. It is part of the associated data, so a ciphertext written for one purpose
 * never opens as another (a wrapped data key is not a set of credentials). A new use is one more entry.
 */
export const VAULT_PURPOSES = ['credentials', 'data-key', 'webhook-secret'] as const;
export type VaultPurpose = (typeof VAULT_PURPOSES)[number];

export interface Sealed {
  /** `v1.<keyId>.<iv>.<tag>.<data>`, each part base64url (the key id is hex). */
  ciphertext: string;
  keyId: string;
}

export interface DataKey {
  /** The key sealed under the ring (purpose `data-key`): what the connection row stores. */
  wrapped: string;
  /** 32 random bytes; keep in memory only. */
  key: Buffer;
}

const VERSION = 'v1';
const DATA_KEY_VERSION = 'd1';
const APP = 'integration-hub';

interface Parsed extends GcmSealed {
  keyId: string;
}

/**
 * The associated data: every field that gives a ciphertext its meaning. JSON keeps the fields apart
 * unambiguously (no id can smuggle a separator), and the header (version, key id) is authenticated too.
 */
function associatedData(keyId: string, purpose: VaultPurpose, connectionId: string): Buffer {
  return Buffer.from(JSON.stringify([APP, VERSION, keyId, purpose, connectionId]), 'utf8');
}

function assertBinding(connectionId: string, purpose: VaultPurpose) {
  if (typeof connectionId !== 'string' || connectionId.length === 0) throw new TypeError('vault: a connection id is required');
  if (!(VAULT_PURPOSES as readonly string[]).includes(purpose)) throw new TypeError('vault: unknown purpose');
}

function malformed(): VaultError {
  return new VaultError('malformed', 'ciphertext is not in the vault format');
}

function parse(ciphertext: string): Parsed {
  if (typeof ciphertext !== 'string') throw malformed();
  const parts = ciphertext.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw malformed();
  const [, keyId, ivText, tagText, dataText] = parts as [string, string, string, string, string];
  if (!KEY_ID_PATTERN.test(keyId)) throw malformed();
  const iv = decodeBase64url(ivText);
  const tag = decodeBase64url(tagText);
  const data = decodeBase64url(dataText);
  if (!iv || !tag || !data || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw malformed();
  return { keyId, iv, tag, data };
}

function format(keyId: string, sealed: GcmSealed): string {
  return [VERSION, keyId, sealed.iv.toString('base64url'), sealed.tag.toString('base64url'), sealed.data.toString('base64url')].join('.');
}

export function createVault(deps: { keyRing: KeyRing }) {
  const { keyRing } = deps;

  function encrypt(connectionId: string, purpose: VaultPurpose, plaintext: Buffer): Sealed {
    assertBinding(connectionId, purpose);
    const { id, key } = keyRing.current;
    return { ciphertext: format(id, gcmEncrypt(key, plaintext, associatedData(id, purpose, connectionId))), keyId: id };
  }

  function decrypt(connectionId: string, purpose: VaultPurpose, ciphertext: string): Buffer {
    assertBinding(connectionId, purpose);
    const parsed = parse(ciphertext);
    const key = keyRing.find(parsed.keyId);
    if (!key) {
      throw new VaultError('unknown_key', `ciphertext is sealed under key ${parsed.keyId}, which the key ring does not hold`, parsed.keyId);
    }
    return gcmDecrypt(key, parsed, associatedData(parsed.keyId, purpose, connectionId));
  }

  function keyIdOf(ciphertext: string): string {
    return parse(ciphertext).keyId;
  }

  return {
    /** The id of the key new ciphertexts are sealed under (rotation selects rows that name another). */
    currentKeyId: keyRing.current.id,
    /** Every ciphertext sealed under the current key starts with this, so SQL can find those that do not. */
    currentKeyPrefix: `${VERSION}.${keyRing.current.id}.`,

    /** Encrypts a JSON value for one connection and one purpose, under the current key. */
    seal(connectionId: string, purpose: VaultPurpose, value: unknown): Sealed {
      const json = JSON.stringify(value);
      if (typeof json !== 'string') throw new TypeError('vault: only JSON values can be sealed');
      return encrypt(connectionId, purpose, Buffer.from(json, 'utf8'));
    },

    /** The value sealed for this connection and purpose; a VaultError for anything else (fails closed). */
    open<T = unknown>(connectionId: string, purpose: VaultPurpose, ciphertext: string): T {
      const plaintext = decrypt(connectionId, purpose, ciphertext);
      try {
        return JSON.parse(plaintext.toString('utf8')) as T;
      } catch {
        throw new VaultError('malformed', 'ciphertext does not hold a JSON value');
      }
    },

    /** The key id a ciphertext names (VaultError 'malformed' when it is not a vault ciphertext). */
    keyIdOf,

    isCurrent(ciphertext: string): boolean {
      return keyIdOf(ciphertext) === keyRing.current.id;
    },

    /** The same plaintext, sealed again under the current key with a fresh IV: key rotation, without ever returning plaintext. */
    rewrap(connectionId: string, purpose: VaultPurpose, ciphertext: string): Sealed {
      return encrypt(connectionId, purpose, decrypt(connectionId, purpose, ciphertext));
    },

    /** A new random data key for a connection's cached data, and its wrapped form for the connection row. */
    createDataKey(connectionId: string): DataKey {
      const key = randomBytes(KEY_BYTES);
      return { wrapped: encrypt(connectionId, 'data-key', key).ciphertext, key };
    },

    unwrapDataKey(connectionId: string, wrapped: string): Buffer {
      const key = decrypt(connectionId, 'data-key', wrapped);
      if (key.length !== KEY_BYTES) throw new VaultError('malformed', 'wrapped data key has the wrong length');
      return key;
    },

    sealWithDataKey,
    openWithDataKey,
  };
}

export type Vault = ReturnType<typeof createVault>;

function dataKeyAad(aad: string): Buffer {
  if (typeof aad !== 'string' || aad.length === 0) throw new TypeError('vault: associated data is required');
  return Buffer.from(JSON.stringify([APP, DATA_KEY_VERSION, aad]), 'utf8');
}

/**
 * Encrypts cached data with a connection's data key: `d1.<base64url(iv | tag | data)>`, compact for Redis.
 * `aad` should name where the value lives (e.g. the cache key), so a value copied elsewhere fails to open.
 */
export function sealWithDataKey(key: Buffer | KeyObject, aad: string, plaintext: string): string {
  const sealed = gcmEncrypt(key, Buffer.from(plaintext, 'utf8'), dataKeyAad(aad));
  return `${DATA_KEY_VERSION}.${Buffer.concat([sealed.iv, sealed.tag, sealed.data]).toString('base64url')}`;
}

export function openWithDataKey(key: Buffer | KeyObject, aad: string, sealed: string): string {
  const associated = dataKeyAad(aad);
  const body = typeof sealed === 'string' && sealed.startsWith(`${DATA_KEY_VERSION}.`) ? decodeBase64url(sealed.slice(3)) : undefined;
  if (!body || body.length < IV_BYTES + TAG_BYTES) throw new VaultError('malformed', 'sealed data is not in the data-key format');
  const parts = {
    iv: body.subarray(0, IV_BYTES),
    tag: body.subarray(IV_BYTES, IV_BYTES + TAG_BYTES),
    data: body.subarray(IV_BYTES + TAG_BYTES),
  };
  return gcmDecrypt(key, parts, associated).toString('utf8');
}
