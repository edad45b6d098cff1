// The key ring: the current encryption key plus retired keys that may still decrypt, each named by a fingerprint.
import { createHmac } from 'node:crypto';

export interface RingKey {
  /** 12 hex characters: HMAC-SHA256(key, KEY_ID_LABEL), truncated. Stable, and says nothing about the key. */
  id: string;
  key: Buffer;
}

export interface KeyRing {
  /** New ciphertexts are sealed under this key. */
  current: RingKey;
  /** The key named by `id`, current or previous; undefined when the ring does not hold it. */
  find(id: string): Buffer | undefined;
  /** Every key id in the ring, the current one first. */
  ids: readonly string[];
}

export interface KeyRingOptions {
  /** 64 hex characters (32 bytes): TOKEN_ENCRYPTION_KEY. */
  currentKey: string;
  /** Retired keys, decrypt only: TOKEN_ENCRYPTION_KEYS_PREVIOUS. */
  previousKeys: readonly string[];
}

const KEY_ID_LABEL = 'integration-hub key id';
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
export const KEY_ID_PATTERN = /^[0-9a-f]{12}$/;

/** A keyed hash, not a plain one: the id of a key can be printed and stored without helping anyone guess the key. */
export function fingerprintKey(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_ID_LABEL).digest('hex').slice(0, 12);
}

function parseKey(hex: string, name: string): Buffer {
  // The message names the setting, never the value.
  if (typeof hex !== 'string' || !HEX_KEY.test(hex.trim())) {
    throw new Error(`${name} must be 64 hex characters (32 bytes): openssl rand -hex 32`);
  }
  return Buffer.from(hex.trim(), 'hex');
}

export function createKeyRing(options: KeyRingOptions): KeyRing {
  const currentKey = parseKey(options.currentKey, 'TOKEN_ENCRYPTION_KEY');
  const current: RingKey = { id: fingerprintKey(currentKey), key: currentKey };
  const keys = new Map<string, Buffer>([[current.id, currentKey]]);

  for (const hex of options.previousKeys) {
    const key = parseKey(hex, 'every key of TOKEN_ENCRYPTION_KEYS_PREVIOUS');
    const id = fingerprintKey(key);
    const known = keys.get(id);
    // The same key listed twice (or the current key kept among the previous ones) collapses to one entry.
    if (known?.equals(key)) continue;
    // 48 bits make this practically impossible; if it ever happens, refuse rather than decrypt with the wrong key.
    if (known) throw new Error('two different encryption keys share a key id: replace one of them');
    keys.set(id, key);
  }

  const ids = Object.freeze([...keys.keys()]);
  return Object.freeze({
    current: Object.freeze(current),
    ids,
    find: (id: string) => keys.get(id),
    // Logging the ring (or a deps object holding it) shows key ids, never key bytes.
    toJSON: () => ({ current: current.id, ids }),
    [Symbol.for('nodejs.util.inspect.custom')]: () => `KeyRing { current: '${current.id}', ids: [${ids.map((i) => `'${i}'`).join(', ')}] }`,
  });
}
