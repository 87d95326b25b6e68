import { AsyncLocalStorage } from 'node:async_hooks';
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { exportJWK, type JWK } from 'jose';
import { ConflictError } from '../shared/errors';
import type { PlatformKeySource } from './jwks-cache';
import type { RegisteredPlatform } from './launch-validation';
import type { LoginPlatform } from './oidc';

/**
 * The only module that touches ltijs. ltijs 5.9.9 ships no usable types (@types/ltijs describes v4),
 * so the small part we use is typed here. What we take from ltijs: the platform store, each platform's RSA
 * key pair (encrypted at rest) and the tool's public keys. What we do ourselves: the OIDC login and the
 * id_token launch (oidc.ts, launch-validation.ts): ltijs ran its own express app and wrote, read and deleted
 * a state record per launch, fetched the platform JWKS on every launch, ignored deployment_id, stored the
 * nonce before all checks passed and signed an ltik we never use.
 */

interface LtijsPlatform {
  platformUrl(): Promise<string>;
  platformClientId(): Promise<string>;
  platformName(): Promise<string>;
  platformKid(): Promise<string>;
  platformActive(active?: boolean): Promise<boolean>;
  platformAuthConfig(): Promise<{ method: string; key: unknown }>;
  platformPrivateKey(): Promise<string>;
  platformAccessTokenEndpoint(): Promise<string>;
  platformAuthEndpoint(): Promise<string>;
  delete(): Promise<unknown>;
}

interface LtijsProvider {
  Database: object;
  setup(key: string, database: { url: string; connection?: Record<string, unknown> }, options: Record<string, unknown>): LtijsProvider;
  deploy(options: { serverless: boolean; silent: boolean }): Promise<true>;
  close(options: { silent: boolean }): Promise<true>;
  registerPlatform(platform: {
    url: string;
    name: string;
    clientId: string;
    authenticationEndpoint: string;
    accesstokenEndpoint: string;
    authorizationServer?: string;
    authConfig: { method: 'JWK_SET' | 'JWK_KEY' | 'RSA_KEY'; key: string };
  }): Promise<LtijsPlatform>;
  getPlatform(url: string, clientId?: string): Promise<LtijsPlatform | LtijsPlatform[] | false>;
  getAllPlatforms(): Promise<LtijsPlatform[]>;
  deletePlatform(url: string, clientId: string): Promise<true>;
}

interface LtijsDatabase {
  Get(encryptionKey: string | false, collection: string, query?: object): Promise<Array<Record<string, unknown>> | false>;
  Replace(encryptionKey: unknown, collection: string, query: object, item: object, index?: object): Promise<unknown>;
}

interface LtijsAuth {
  generatePlatformKeyPair(encryptionKey: string, database: LtijsDatabase, platformUrl: string, clientId: string): Promise<string>;
}

/* eslint-disable @typescript-eslint/no-require-imports -- untyped CommonJS library, typed above */
const ltijsSingleton = (require('ltijs') as { Provider: LtijsProvider }).Provider;
const ltijsAuth = require('ltijs/dist/Utils/Auth') as LtijsAuth;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Tests only (TEST_PLATFORM_KEY_BITS): inside this context a registered platform's key pair uses the smaller size
 * (seconds of CPU saved per test server); production (always 4096) never enters it.
 */
const platformKeyBits = new AsyncLocalStorage<number>();

// ltijs generates each platform's RSA-4096 key pair synchronously (seconds on a busy machine, every
// request stalls meanwhile); the same keys, stored the same way, generated off the event loop.
const generateRsaKeyPair = promisify(generateKeyPair);
ltijsAuth.generatePlatformKeyPair = async (encryptionKey, database, platformUrl, clientId) => {
  const kid = randomBytes(16).toString('hex');
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', {
    modulusLength: platformKeyBits.getStore() ?? 4096,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const where = { platformUrl, clientId };
  await database.Replace(encryptionKey, 'publickey', where, { key: publicKey, kid }, { kid, ...where });
  await database.Replace(encryptionKey, 'privatekey', where, { key: privateKey, kid }, { kid, ...where });
  return kid;
};

/** A registration named an issuer + client id that is already registered; nothing was changed. */
export class PlatformExistsError extends ConflictError {
  constructor(issuer: string, clientId: string) {
    super(`A platform ${issuer} with client id ${clientId} is already registered; it was not changed.`);
  }
}

export interface PlatformRecord {
  issuer: string;
  clientId: string;
  name: string;
  kid: string;
  active: boolean;
  authUrl: string;
  tokenUrl: string;
  keys: PlatformKeySource;
}

export interface LtiProviderOptions {
  encryptionKey: string;
  databaseUri: string;
  /** RSA size of each platform's key pair (4096; smaller only in tests). */
  platformKeyBits?: number;
  /**
   * How long a registered platform (endpoints, keys, active flag) is served from memory. Changes made
   * through this provider apply at once; changes made by another process (the platform CLI, another
   * replica) within this bound. Default 5 s; 0 turns the cache off.
   */
  platformCacheMs?: number;
}

/** Default of LtiProviderOptions.platformCacheMs. */
export const defaultPlatformCacheMs = 5_000;

export interface LtiProvider {
  deploy(): Promise<void>;
  /** The tool's public keys, one per registered platform (served at /lti/keys). */
  keySet(): Promise<{ keys: JWK[] }>;
  /** Registered platforms of an issuer (a login without client_id). */
  platformsOf(issuer: string): Promise<LoginPlatform[]>;
  close(): Promise<void>;
  lookupPlatform(issuer: string, clientId: string): Promise<(RegisteredPlatform & { authUrl: string }) | null>;
  /**
   * Adds a platform (ltijs generates its key pair). ltijs itself would silently overwrite the endpoints and
   * key set of an existing one; here that needs `{ replace: true }` (an operator's or administrator's
   * decision), otherwise PlatformExistsError.
   */
  registerPlatform(
    input: {
      issuer: string;
      clientId: string;
      name: string;
      authUrl: string;
      tokenUrl: string;
      jwksUrl: string;
    },
    options?: { replace?: boolean },
  ): Promise<PlatformRecord>;
  getPlatform(issuer: string, clientId: string): Promise<PlatformRecord | null>;
  listPlatforms(): Promise<PlatformRecord[]>;
  setActive(issuer: string, clientId: string, active: boolean): Promise<boolean>;
  removePlatform(issuer: string, clientId: string): Promise<boolean>;
  /** The private key ltijs generated for this platform: signs client assertions and deep-linking responses. */
  signingKey(issuer: string, clientId: string): Promise<{ kid: string; key: KeyObject } | null>;
}

async function keySourceOf(platform: LtijsPlatform): Promise<PlatformKeySource> {
  const config = await platform.platformAuthConfig();
  const key = config.key;
  if (config.method === 'JWK_KEY') return { method: 'JWK_KEY', jwk: (typeof key === 'string' ? JSON.parse(key) : key) as JWK };
  if (config.method === 'RSA_KEY') return { method: 'RSA_KEY', pem: String(key) };
  return { method: 'JWK_SET', url: String(key) };
}

async function toRecord(platform: LtijsPlatform): Promise<PlatformRecord> {
  return {
    issuer: await platform.platformUrl(),
    clientId: await platform.platformClientId(),
    name: await platform.platformName(),
    kid: await platform.platformKid(),
    active: await platform.platformActive(),
    authUrl: await platform.platformAuthEndpoint(),
    tokenUrl: await platform.platformAccessTokenEndpoint(),
    keys: await keySourceOf(platform),
  };
}

export function createLtiProvider(options: LtiProviderOptions): LtiProvider {
  // ltijs exports one instance; a fresh one per server lets tests start and stop servers in one process.
  const ProviderClass = ltijsSingleton.constructor as new () => LtijsProvider;
  const provider = new ProviderClass();
  provider.setup(
    options.encryptionKey,
    { url: options.databaseUri, connection: { serverSelectionTimeoutMS: 5000 } },
    {
      // ltijs's own routes are never mounted (serverless deploy, no app): oidc.ts and lti-routes.ts serve /lti.
      dynRegRoute: '/ltijs-dynamic-registration-disabled',
      devMode: false,
      cors: false,
    },
  );
  const database = provider.Database as unknown as LtijsDatabase;

  const uncachedGetPlatform = async (issuer: string, clientId: string): Promise<LtijsPlatform | null> => {
    const platform = await provider.getPlatform(issuer, clientId);
    return platform && !Array.isArray(platform) ? platform : null;
  };

  // Registered platforms in memory: every login and launch needs the platform, its status and its keys.
  // Only registered platforms are kept (an unknown issuer is looked up every time), at most a few hundred.
  interface CachedPlatform {
    platform: LtijsPlatform;
    active: boolean;
    kid: string;
    authUrl: string;
    keys: PlatformKeySource;
  }
  const platformCacheMs = options.platformCacheMs ?? defaultPlatformCacheMs;
  const platformCache = new Map<string, { at: number; entry: Promise<CachedPlatform | null> }>();
  let keySetCache: { at: number; keys: Promise<{ keys: JWK[] }> } | undefined;
  const cacheKey = (issuer: string, clientId: string): string => `${issuer}\n${clientId}`;
  const forget = (issuer: string, clientId: string): void => {
    platformCache.delete(cacheKey(issuer, clientId));
    keySetCache = undefined;
  };
  const cachedPlatform = (issuer: string, clientId: string): Promise<CachedPlatform | null> => {
    const key = cacheKey(issuer, clientId);
    const hit = platformCache.get(key);
    if (hit && Date.now() - hit.at < platformCacheMs) return hit.entry;
    const entry = (async () => {
      const platform = await uncachedGetPlatform(issuer, clientId);
      if (!platform) return null;
      return {
        platform,
        active: await platform.platformActive(),
        kid: await platform.platformKid(),
        authUrl: await platform.platformAuthEndpoint(),
        keys: await keySourceOf(platform),
      };
    })();
    if (platformCacheMs > 0) {
      if (platformCache.size >= 500) platformCache.clear();
      const slot = { at: Date.now(), entry };
      platformCache.set(key, slot);
      // Failures and unknown platforms are not remembered.
      entry.then(
        (found) => {
          if (!found && platformCache.get(key) === slot) platformCache.delete(key);
        },
        () => {
          if (platformCache.get(key) === slot) platformCache.delete(key);
        },
      );
    }
    return entry;
  };

  const buildKeySet = async (): Promise<{ keys: JWK[] }> => {
    const stored = (await database.Get(options.encryptionKey, 'publickey')) || [];
    const keys: JWK[] = [];
    for (const entry of stored) {
      if (typeof entry.key !== 'string' || typeof entry.kid !== 'string') continue;
      const jwk = await exportJWK(createPublicKey(entry.key));
      keys.push({ kty: jwk.kty, n: jwk.n, e: jwk.e, kid: entry.kid, alg: 'RS256', use: 'sig' });
    }
    return { keys };
  };

  return {
    async deploy() {
      const before = new Set(process.listeners('SIGINT'));
      await provider.deploy({ serverless: true, silent: true });
      // ltijs installs a SIGINT handler that exits the process; our main owns shutdown.
      for (const listener of process.listeners('SIGINT')) {
        if (!before.has(listener)) process.removeListener('SIGINT', listener);
      }
    },
    async close() {
      await provider.close({ silent: true });
    },
    keySet() {
      // Keys change only with registrations made here (which forget the cache) or by another process (within the bound).
      if (keySetCache && Date.now() - keySetCache.at < platformCacheMs) return keySetCache.keys;
      const keys = buildKeySet();
      keySetCache = platformCacheMs > 0 ? { at: Date.now(), keys } : undefined;
      keys.catch(() => {
        keySetCache = undefined;
      });
      return keys;
    },
    async platformsOf(issuer) {
      const found = await provider.getPlatform(issuer);
      const platforms = Array.isArray(found) ? found : found ? [found] : [];
      return Promise.all(
        platforms.map(async (p) => ({
          clientId: await p.platformClientId(),
          active: await p.platformActive(),
          authUrl: await p.platformAuthEndpoint(),
        })),
      );
    },
    async lookupPlatform(issuer, clientId) {
      const found = await cachedPlatform(issuer, clientId);
      return found ? { clientId, kid: found.kid, active: found.active, keys: found.keys, authUrl: found.authUrl } : null;
    },
    async registerPlatform(input, registerOptions = {}) {
      if (!registerOptions.replace && (await uncachedGetPlatform(input.issuer, input.clientId))) {
        throw new PlatformExistsError(input.issuer, input.clientId);
      }
      forget(input.issuer, input.clientId);
      const register = (): Promise<LtijsPlatform> =>
        provider.registerPlatform({
          url: input.issuer,
          name: input.name,
          clientId: input.clientId,
          authenticationEndpoint: input.authUrl,
          accesstokenEndpoint: input.tokenUrl,
          authConfig: { method: 'JWK_SET', key: input.jwksUrl },
        });
      const bits = options.platformKeyBits ?? 4096;
      const platform = bits === 4096 ? await register() : await platformKeyBits.run(bits, register);
      forget(input.issuer, input.clientId);
      return toRecord(platform);
    },
    async getPlatform(issuer, clientId) {
      const platform = await uncachedGetPlatform(issuer, clientId);
      return platform ? toRecord(platform) : null;
    },
    async listPlatforms() {
      return Promise.all((await provider.getAllPlatforms()).map(toRecord));
    },
    async setActive(issuer, clientId, active) {
      const platform = await uncachedGetPlatform(issuer, clientId);
      if (!platform) return false;
      forget(issuer, clientId);
      await platform.platformActive(active);
      forget(issuer, clientId);
      return true;
    },
    async removePlatform(issuer, clientId) {
      const platform = await uncachedGetPlatform(issuer, clientId);
      if (!platform) return false;
      forget(issuer, clientId);
      await platform.delete();
      forget(issuer, clientId);
      return true;
    },
    async signingKey(issuer, clientId) {
      const platform = await uncachedGetPlatform(issuer, clientId);
      if (!platform) return null;
      return { kid: await platform.platformKid(), key: createPrivateKey(await platform.platformPrivateKey()) };
    },
  };
}
