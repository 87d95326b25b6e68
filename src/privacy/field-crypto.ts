import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * Application-level encryption of sensitive free text (reflections, faculty comments, observation
 * narratives): AES-256-GCM, a fresh 96-bit IV per value, the key id stored with each value so keys can
 * be rotated (`npm run privacy -- rotate-keys`). A database dump or backup alone reveals nothing.
 */
export interface SealedText {
  v: 1;
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

export interface FieldCrypto {
  /** The key id new values are sealed with. */
  readonly currentKid: string;
  encrypt(plain: string): SealedText;
  /** Throws when the key id is unknown or the value was tampered with. */
  decrypt(sealed: SealedText): string;
}

const sealedSchema = z.object({
  v: z.literal(1),
  kid: z.string().min(1).max(64),
  iv: z.string().min(1),
  tag: z.string().min(1),
  ct: z.string(),
});

export function isSealed(value: unknown): value is SealedText {
  return sealedSchema.safeParse(value).success;
}

export const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/;

/** `kid:base64key,kid:base64key` (first = current) → ordered key list; throws a one-line reason. */
export function parseKeyList(text: string): { kid: string; key: Buffer }[] {
  const keys = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      const kid = colon > 0 ? entry.slice(0, colon) : '';
      if (!keyIdPattern.test(kid)) throw new Error('each key must be <kid>:<base64 key> with a kid of letters, digits, - or _');
      const key = Buffer.from(entry.slice(colon + 1), 'base64');
      if (key.length !== 32) throw new Error(`key "${kid}" must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
      return { kid, key };
    });
  if (keys.length === 0) throw new Error('must name at least one key');
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error('names a key id twice');
  return keys;
}

export function generateKeyEntry(kid = `k${Date.now().toString(36)}`): string {
  return `${kid}:${randomBytes(32).toString('base64')}`;
}

export function createFieldCrypto(keyList: string | { kid: string; key: Buffer }[]): FieldCrypto {
  const keys = typeof keyList === 'string' ? parseKeyList(keyList) : keyList;
  const current = keys[0]!;
  const byKid = new Map(keys.map((k) => [k.kid, k.key]));
  return {
    currentKid: current.kid,
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return { v: 1, kid: current.kid, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ct: ct.toString('base64') };
    },
    decrypt(sealed) {
      const key = byKid.get(sealed.kid);
      if (!key) throw new Error(`unknown data encryption key id "${sealed.kid}" (add it to DATA_ENCRYPTION_KEYS)`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]).toString('utf8');
    },
  };
}

/** Plain text of a stored value: legacy plaintext is read as is; unreadable values become a placeholder. */
export function openText(crypto: FieldCrypto | undefined, value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!isSealed(value)) return undefined;
  if (!crypto) return undefined;
  try {
    return crypto.decrypt(value);
  } catch {
    return '[unreadable: encrypted with a key this server does not have]';
  }
}
