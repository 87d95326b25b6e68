import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type JWK, type KeyLike } from 'jose';
import type { Logger } from 'pino';
import { isDuplicateKeyError, type KeyDoc, type Models } from './store';
import type { Shape } from './types';

export interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  publicJwk: JWK;
}

export interface SignOptions {
  alg?: string;
  kid?: string;
  wrongKey?: boolean;
}

export interface KeyStore {
  get(shape: Shape): Promise<SigningKey>;
  jwks(shape: Shape): Promise<{ keys: JWK[] }>;
  /** Signs a JWT; options exist so security tests can forge tokens the tool must refuse. */
  sign(shape: Shape, claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
}

const rsaAlgorithms = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);

/**
 * One RSA-2048 key per shape, generated on first use and kept in devplatform_keys so a restart does
 * not invalidate what the tool cached or registered. The private key sits in the database in clear:
 * acceptable only because this platform never runs in production.
 */
export function createKeyStore(models: Models, logger: Logger): KeyStore {
  const loaded = new Map<Shape, Promise<SigningKey>>();
  let wrongKey: KeyObject | undefined;

  async function toSigningKey(doc: KeyDoc): Promise<SigningKey> {
    return { kid: doc.kid, privateKey: (await importJWK(doc.privateJwk, 'RS256')) as KeyLike, publicJwk: doc.publicJwk };
  }

  async function loadOrCreate(shape: Shape): Promise<SigningKey> {
    const existing = await models.keys.findById(shape).lean<KeyDoc>();
    if (existing) return toSigningKey(existing);
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const candidate: KeyDoc = {
      _id: shape,
      kid,
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
      publicJwk: { ...publicJwk, kid, alg: 'RS256', use: 'sig' },
      createdAt: new Date(),
    };
    const { _id, ...fields } = candidate;
    try {
      // $setOnInsert: when two processes race, both end up with the key that was stored first.
      const stored = await models.keys.findOneAndUpdate({ _id }, { $setOnInsert: fields }, { upsert: true, new: true }).lean<KeyDoc>();
      if (!stored) throw new Error(`key for ${shape} was not stored`);
      if (stored.kid === kid) logger.info({ shape, kid }, `devplatform: generated the ${shape} signing key`);
      return toSigningKey(stored);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const winner = await models.keys.findById(shape).lean<KeyDoc>();
      if (!winner) throw error;
      return toSigningKey(winner);
    }
  }

  function get(shape: Shape): Promise<SigningKey> {
    let key = loaded.get(shape);
    if (!key) {
      key = loadOrCreate(shape);
      loaded.set(shape, key);
      key.catch(() => loaded.delete(shape));
    }
    return key;
  }

  /** A key the tool has never seen, for "signed with the wrong key" tests. */
  function getWrongKey(): KeyObject {
    wrongKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    return wrongKey;
  }

  async function signingMaterial(shape: Shape, alg: string, options: SignOptions): Promise<KeyLike | Uint8Array> {
    const key = await get(shape);
    if (rsaAlgorithms.has(alg)) return options.wrongKey ? getWrongKey() : key.privateKey;
    if (alg.startsWith('HS')) {
      // The classic algorithm-confusion attack: HMAC keyed with the platform's public key.
      const publicPem = createPublicKey(options.wrongKey ? getWrongKey() : (key.privateKey as KeyObject)).export({
        type: 'spki',
        format: 'pem',
      });
      return new TextEncoder().encode(publicPem.toString());
    }
    if (alg === 'ES256' || alg === 'ES384') {
      return (await generateKeyPair(alg)).privateKey;
    }
    throw new Error(`signIdToken: unsupported alg ${alg}`);
  }

  return {
    get,
    async jwks(shape) {
      const key = await get(shape);
      return { keys: [key.publicJwk] };
    },
    async sign(shape, claims, options = {}) {
      const alg = options.alg ?? 'RS256';
      if (alg === 'none') return new UnsecuredJWT(claims).encode();
      const key = await get(shape);
      return new SignJWT(claims)
        .setProtectedHeader({ alg, typ: 'JWT', kid: options.kid ?? key.kid })
        .sign(await signingMaterial(shape, alg, options));
    },
  };
}
