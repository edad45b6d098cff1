// Building blocks for webhook verification: HMACs over the raw body and constant-time comparison.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type HmacAlgorithm = 'sha1' | 'sha256';

export function hmac(algorithm: HmacAlgorithm, key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const h = createHmac(algorithm, key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/**
 * Constant-time equality of two strings or buffers of any length. Both sides are hashed first, so neither the
 * content nor the length of the expected value leaks through timing.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && Buffer.byteLength(a) === Buffer.byteLength(b);
}

/** Whether `given` (hex, case-insensitive) is the HMAC of the parts. The expected length is public (the digest
 *  size), so the bytes are compared directly in constant time. */
export function hmacHexMatches(algorithm: HmacAlgorithm, key: string | Buffer, given: string, ...parts: (string | Buffer)[]): boolean {
  const expected = hmac(algorithm, key, ...parts);
  const hex = given.trim();
  if (hex.length !== expected.length * 2 || !/^[0-9a-fA-F]+$/.test(hex)) return false;
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** Whether `given` (base64) is the HMAC of the parts. */
export function hmacBase64Matches(algorithm: HmacAlgorithm, key: string | Buffer, given: string, ...parts: (string | Buffer)[]): boolean {
  return safeEqual(hmac(algorithm, key, ...parts).toString('base64'), given.trim());
}

/** Parses a JSON body, or undefined when it is not JSON. */
export function parseJson(raw: Buffer | string): unknown {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A stable id for a delivery whose provider sends none: a hash of what identifies it (or of the raw body). */
export function derivedDeliveryId(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(part).update('\u0000');
  return `sha256:${h.digest('base64url')}`;
}

/** Unix seconds in a header, within `toleranceSeconds` of now. */
export function timestampWithin(value: string | undefined, now: Date, toleranceSeconds: number): boolean {
  if (!value || !/^\d{1,12}$/.test(value.trim())) return false;
  return Math.abs(now.getTime() / 1000 - Number(value)) <= toleranceSeconds;
}
