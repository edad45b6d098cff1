// The vault's promises, checked on real AES-256-GCM: round trips, binding, tamper detection, key ring and data keys.
import { createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createKeyRing } from './keyring.js';
import { VaultError, type VaultErrorReason } from './vault-error.js';
import { createVault, openWithDataKey, sealWithDataKey } from './vault.service.js';

const hexKey = () => randomBytes(32).toString('hex');
const conn = 'conn_01jd9x5b7q8r2m3n4p5s6t7v8w';
const secret = { access_token: 'xoxb-super-secret-access', refresh_token: 'xoxe-super-secret-refresh', expires_in: 43200 };

function vaultWith(currentKey = hexKey(), previousKeys: string[] = []) {
  return createVault({ keyRing: createKeyRing({ currentKey, previousKeys }) });
}

function expectVaultError(fn: () => unknown, reason: VaultErrorReason): VaultError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(VaultError);
  expect((caught as VaultError).reason).toBe(reason);
  return caught as VaultError;
}

/** The ciphertext with one byte of one decoded part (iv, tag or data) flipped, re-encoded canonically. */
function flipByte(ciphertext: string, part: 2 | 3 | 4, index: number): string {
  const parts = ciphertext.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[index] = bytes[index]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('key ring', () => {
  it('names keys by a stable 12-hex fingerprint that is not the key', () => {
    const key = hexKey();
    const a = createKeyRing({ currentKey: key, previousKeys: [] });
    const b = createKeyRing({ currentKey: key.toUpperCase(), previousKeys: [] });
    expect(a.current.id).toMatch(/^[0-9a-f]{12}$/);
    expect(b.current.id).toBe(a.current.id);
    expect(a.current.id).toBe(createHmac('sha256', Buffer.from(key, 'hex')).update('integration-hub key id').digest('hex').slice(0, 12));
    expect(key).not.toContain(a.current.id);
    expect(createKeyRing({ currentKey: hexKey(), previousKeys: [] }).current.id).not.toBe(a.current.id);
  });

  it('holds the current key first, collapses duplicates and finds keys by id', () => {
    const current = hexKey();
    const old = hexKey();
    const ring = createKeyRing({ currentKey: current, previousKeys: [old, current, old.toUpperCase()] });
    expect(ring.ids).toHaveLength(2);
    expect(ring.ids[0]).toBe(ring.current.id);
    expect(ring.find(ring.ids[1]!)?.toString('hex')).toBe(old);
    expect(ring.find(ring.current.id)?.toString('hex')).toBe(current);
    expect(ring.find('000000000000')).toBeUndefined();
  });

  it('rejects anything but 64 hex characters, without echoing the value', () => {
    const notHex = 'zz' + hexKey().slice(2);
    expect(() => createKeyRing({ currentKey: notHex, previousKeys: [] })).toThrow(/TOKEN_ENCRYPTION_KEY/);
    expect(() => createKeyRing({ currentKey: hexKey().slice(2), previousKeys: [] })).toThrow();
    expect(() => createKeyRing({ currentKey: hexKey(), previousKeys: ['abc'] })).toThrow(/PREVIOUS/);
    try {
      createKeyRing({ currentKey: notHex, previousKeys: [] });
    } catch (error) {
      expect(String(error)).not.toContain(notHex);
    }
  });

  it('shows key ids, never key bytes, when logged or inspected', () => {
    const current = hexKey();
    const old = hexKey();
    const ring = createKeyRing({ currentKey: current, previousKeys: [old] });
    for (const shown of [JSON.stringify(ring), inspect(ring), JSON.stringify({ deps: { ring } })]) {
      expect(shown).toContain(ring.current.id);
      expect(shown).not.toContain(current);
      expect(shown).not.toContain(old);
    }
  });
});

describe('vault seal / open', () => {
  it('round-trips a JSON value in the self-describing format', () => {
    const vault = vaultWith();
    const sealed = vault.seal(conn, 'credentials', secret);
    const parts = sealed.ciphertext.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v1');
    expect(parts[1]).toBe(sealed.keyId);
    expect(sealed.keyId).toBe(vault.currentKeyId);
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[3]!, 'base64url')).toHaveLength(16);
    for (const part of parts.slice(2)) expect(part).toMatch(/^[A-Za-z0-9_-]*$/);
    expect(vault.open(conn, 'credentials', sealed.ciphertext)).toEqual(secret);
    expect(vault.open(conn, 'webhook-secret', vault.seal(conn, 'webhook-secret', 'whsec_x').ciphertext)).toBe('whsec_x');
  });

  it('uses a fresh IV every time, and the output never contains the plaintext', () => {
    const vault = vaultWith();
    const a = vault.seal(conn, 'credentials', secret).ciphertext;
    const b = vault.seal(conn, 'credentials', secret).ciphertext;
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    for (const text of [a, Buffer.from(a).toString('base64'), Buffer.from(a, 'utf8').toString('latin1')]) {
      expect(text).not.toContain(secret.access_token);
      expect(text).not.toContain('super-secret');
    }
    // Neither does any decoding of its parts.
    for (const part of a.split('.')) {
      const decoded = Buffer.from(part, 'base64url').toString('latin1');
      expect(decoded).not.toContain('super-secret');
      expect(decoded).not.toContain('access_token');
    }
  });

  it('binds a ciphertext to its connection id and its purpose', () => {
    const vault = vaultWith();
    const { ciphertext } = vault.seal(conn, 'credentials', secret);
    expectVaultError(() => vault.open('conn_01jd9x5b7q8r2m3n4p5s6t7v8x', 'credentials', ciphertext), 'tampered');
    expectVaultError(() => vault.open(conn, 'webhook-secret', ciphertext), 'tampered');
    expectVaultError(() => vault.open(conn, 'data-key', ciphertext), 'tampered');
    expectVaultError(() => vault.unwrapDataKey(conn, ciphertext), 'tampered');
    expectVaultError(() => vault.rewrap('conn_other', 'credentials', ciphertext), 'tampered');
  });

  it('detects any single flipped byte in the IV, the tag or the data', () => {
    const vault = vaultWith();
    const { ciphertext } = vault.seal(conn, 'credentials', { t: 'abc' });
    const sizes = ciphertext.split('.').map((p) => Buffer.from(p, 'base64url').length);
    let checked = 0;
    for (const part of [2, 3, 4] as const) {
      for (let i = 0; i < sizes[part]!; i++) {
        const error = expectVaultError(() => vault.open(conn, 'credentials', flipByte(ciphertext, part, i)), 'tampered');
        expect(error.message).not.toContain('abc');
        checked++;
      }
    }
    expect(checked).toBe(12 + 16 + sizes[4]!);
  });

  it('rejects a ciphertext relabelled with another key id of the ring', () => {
    const old = hexKey();
    const vault = vaultWith(hexKey(), [old]);
    const oldId = createKeyRing({ currentKey: old, previousKeys: [] }).current.id;
    const parts = vault.seal(conn, 'credentials', secret).ciphertext.split('.');
    parts[1] = oldId;
    expectVaultError(() => vault.open(conn, 'credentials', parts.join('.')), 'tampered');
  });

  it('answers unknown_key for a key the ring does not hold, naming only the key id', () => {
    const other = vaultWith();
    const { ciphertext, keyId } = other.seal(conn, 'credentials', secret);
    const error = expectVaultError(() => vaultWith().open(conn, 'credentials', ciphertext), 'unknown_key');
    expect(error.keyId).toBe(keyId);
    expect(error.message).toContain(keyId);
    expect(error.message).not.toContain(ciphertext);
  });

  it('answers malformed for what the vault did not write, and never echoes it', () => {
    const vault = vaultWith();
    const { ciphertext } = vault.seal(conn, 'credentials', secret);
    const [, keyId, iv, tag, data] = ciphertext.split('.');
    const bad = [
      '',
      'secret-token-in-plain-text',
      ciphertext.replace(/^v1/, 'v2'),
      `v1.${keyId}.${iv}.${tag}`,
      `${ciphertext}.extra`,
      `v1.NOT-A-KEY-ID.${iv}.${tag}.${data}`,
      `v1.${keyId}.${iv}.${tag}.${data}=`,
      `v1.${keyId}.${iv}.${tag}.${data}+/`,
      `v1.${keyId}.${iv}.${tag!.slice(0, 10)}.${data}`,
      `v1.${keyId}.${iv}AA.${tag}.${data}`,
    ];
    for (const text of bad) {
      const error = expectVaultError(() => vault.open(conn, 'credentials', text), 'malformed');
      if (text) expect(error.message).not.toContain(text);
    }
    expectVaultError(() => vault.keyIdOf('nope'), 'malformed');
    // An authentic ciphertext that holds no JSON (a data key) opened as JSON is malformed, not a crash.
    const { wrapped } = vault.createDataKey(conn);
    expect(() => vault.open(conn, 'data-key', wrapped)).toThrow(VaultError);
  });

  it('refuses values that are not JSON and bindings that are empty or unknown', () => {
    const vault = vaultWith();
    expect(() => vault.seal(conn, 'credentials', undefined)).toThrow(TypeError);
    expect(() => vault.seal('', 'credentials', secret)).toThrow(TypeError);
    expect(() => vault.seal(conn, 'nonsense' as 'credentials', secret)).toThrow(TypeError);
  });
});

describe('vault key ring use', () => {
  it('decrypts under a previous key, seals new values under the current one and tells which is current', () => {
    const oldKey = hexKey();
    const before = vaultWith(oldKey);
    const { ciphertext: oldCiphertext, keyId: oldId } = before.seal(conn, 'credentials', secret);

    const after = vaultWith(hexKey(), [oldKey]);
    expect(after.currentKeyId).not.toBe(oldId);
    expect(after.keyIdOf(oldCiphertext)).toBe(oldId);
    expect(after.isCurrent(oldCiphertext)).toBe(false);
    expect(after.open(conn, 'credentials', oldCiphertext)).toEqual(secret);

    const fresh = after.seal(conn, 'credentials', secret);
    expect(fresh.keyId).toBe(after.currentKeyId);
    expect(after.isCurrent(fresh.ciphertext)).toBe(true);
    // Once the old key is retired entirely, only the re-sealed value still opens.
    const retired = vaultWith(hexKey(), []);
    expectVaultError(() => retired.open(conn, 'credentials', oldCiphertext), 'unknown_key');
  });

  it('rewraps under the current key, keeping the plaintext and the binding', () => {
    const oldKey = hexKey();
    const currentKey = hexKey();
    const { ciphertext } = vaultWith(oldKey).seal(conn, 'credentials', secret);
    const vault = vaultWith(currentKey, [oldKey]);
    const rewrapped = vault.rewrap(conn, 'credentials', ciphertext);
    expect(rewrapped.keyId).toBe(vault.currentKeyId);
    expect(vault.isCurrent(rewrapped.ciphertext)).toBe(true);
    expect(vault.open(conn, 'credentials', rewrapped.ciphertext)).toEqual(secret);
    // The current key alone opens it now.
    expect(vaultWith(currentKey).open(conn, 'credentials', rewrapped.ciphertext)).toEqual(secret);
    expectVaultError(() => vault.open('conn_other', 'credentials', rewrapped.ciphertext), 'tampered');
  });
});

describe('per-connection data keys', () => {
  it('wraps a random 32-byte key under the ring, bound to its connection', () => {
    const oldKey = hexKey();
    const vault = vaultWith(oldKey);
    const { wrapped, key } = vault.createDataKey(conn);
    expect(key).toHaveLength(32);
    expect(vault.keyIdOf(wrapped)).toBe(vault.currentKeyId);
    expect(wrapped).not.toContain(key.toString('base64url'));
    expect(wrapped).not.toContain(key.toString('hex'));
    expect(vault.unwrapDataKey(conn, wrapped).equals(key)).toBe(true);
    expect(vault.createDataKey(conn).key.equals(key)).toBe(false);
    expectVaultError(() => vault.unwrapDataKey('conn_other', wrapped), 'tampered');
    expectVaultError(() => vault.unwrapDataKey(conn, vault.seal(conn, 'data-key', 'short').ciphertext), 'malformed');

    const rotated = vaultWith(hexKey(), [oldKey]);
    const rewrapped = rotated.rewrap(conn, 'data-key', wrapped);
    expect(rotated.isCurrent(rewrapped.ciphertext)).toBe(true);
    expect(rotated.unwrapDataKey(conn, rewrapped.ciphertext).equals(key)).toBe(true);
  });

  it('seals and opens cached data in a compact format bound to its associated data', () => {
    const vault = vaultWith();
    const { key } = vault.createDataKey(conn);
    const figure = JSON.stringify({ kind: 'metric', value: 1234567, label: 'ARR' });
    const sealed = vault.sealWithDataKey(key, 'widget:conn_a:arr', figure);
    expect(sealed).toMatch(/^d1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('1234567');
    expect(Buffer.from(sealed.slice(3), 'base64url').length).toBe(12 + 16 + Buffer.byteLength(figure));
    expect(vault.openWithDataKey(key, 'widget:conn_a:arr', sealed)).toBe(figure);
    expect(openWithDataKey(key, 'widget:conn_a:arr', sealWithDataKey(key, 'widget:conn_a:arr', ''))).toBe('');
    expect(sealWithDataKey(key, 'a', figure)).not.toBe(sealWithDataKey(key, 'a', figure));

    expectVaultError(() => vault.openWithDataKey(key, 'widget:conn_b:arr', sealed), 'tampered');
    expectVaultError(() => vault.openWithDataKey(vault.createDataKey(conn).key, 'widget:conn_a:arr', sealed), 'tampered');
    const body = Buffer.from(sealed.slice(3), 'base64url');
    for (let i = 0; i < body.length; i++) {
      const copy = Buffer.from(body);
      copy[i] = copy[i]! ^ 0x80;
      expectVaultError(() => vault.openWithDataKey(key, 'widget:conn_a:arr', `d1.${copy.toString('base64url')}`), 'tampered');
    }
    for (const bad of ['', 'd1.', 'd1.AAAA', `x1.${sealed.slice(3)}`, `${sealed}=`]) {
      expectVaultError(() => vault.openWithDataKey(key, 'widget:conn_a:arr', bad), 'malformed');
    }
    expectVaultError(() => vault.sealWithDataKey(key.subarray(0, 16), 'a', figure), 'malformed');
  });
});
